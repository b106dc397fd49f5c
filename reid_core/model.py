"""The video re-ID network: backbone → (RRU) → temporal head → f, plus training heads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from torch import nn

from reid_core.backbones import Backbone, BackboneSpec, create_backbone
from reid_core.rru import RRU, GateAttention, GateInput
from reid_core.temporal import create_temporal_head

CLASSIFIER_HIDDEN = 512


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines the architecture; saved in every checkpoint."""

    backbone: str = "mobilenet_v2"
    rru: bool = True
    gate_attention: GateAttention = "both"
    gate_input: GateInput = "diff"
    temporal: str = "stim"  # mean | lstm | stim
    num_classes: int = 0  # identities of the training set; 0 builds no classifier heads
    aux: bool = True  # auxiliary classifier on the backbone's mid-level map
    dropout: float = 0.5
    input_size: tuple[int, int] | None = None  # (height, width); None = the backbone's default

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        data = dict(data)
        if data.get("input_size") is not None:  # JSON gives a list
            data["input_size"] = tuple(data["input_size"])
        return cls(**data)


# Table 1 rows, by name. The loss rows (+Lv, +Lp) are training options, not architectures.
VARIANTS: dict[str, ModelConfig] = {
    "baseline": ModelConfig(rru=False, temporal="mean"),
    "lstm": ModelConfig(rru=False, temporal="lstm"),
    "stim": ModelConfig(rru=False, temporal="stim"),
    "rru_s": ModelConfig(gate_attention="spatial", temporal="mean"),
    "rru_c": ModelConfig(gate_attention="channel", temporal="mean"),
    "rru_ad": ModelConfig(gate_input="appearance", temporal="mean"),
    "rru_od": ModelConfig(gate_input="original", temporal="mean"),
    "rru": ModelConfig(temporal="mean"),
    "rru_lstm": ModelConfig(temporal="lstm"),
    "rru_stim": ModelConfig(temporal="stim"),
}


def variant_config(name: str, **overrides: object) -> ModelConfig:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {sorted(VARIANTS)}")
    return replace(VARIANTS[name], **overrides)


def _spec_at(backbone: Backbone, input_size: tuple[int, int]) -> BackboneSpec:
    """The backbone's spec at another frame size; the map size is measured, not guessed."""
    was_training = backbone.training
    with torch.no_grad():
        maps = backbone.eval().features(torch.zeros(1, 3, *input_size))
    backbone.train(was_training)
    return replace(backbone.spec, input_size=input_size, map_size=(maps.shape[2], maps.shape[3]))


class ClassifierBlock(nn.Module):
    """FC 512, BN, LeakyReLU 0.1 (authors' code), Dropout, FC #ids."""

    def __init__(self, in_dim: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Linear(in_dim, CLASSIFIER_HIDDEN),
            nn.BatchNorm1d(CLASSIFIER_HIDDEN),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Dropout(dropout),
            nn.Linear(CLASSIFIER_HIDDEN, num_classes),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.block(features)


@dataclass
class ModelOutput:
    f: torch.Tensor  # B×D sequence feature
    refined: torch.Tensor  # S: B×T×C×H×W (X itself when there is no RRU)
    gates: torch.Tensor | None  # Z: B×T×C×H×W, None without RRU
    logits: torch.Tensor | None
    aux_logits: torch.Tensor | None


class ReIDModel(nn.Module):
    def __init__(self, config: ModelConfig, backbone_weights: str | Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone: Backbone = create_backbone(config.backbone, backbone_weights)
        if config.input_size is not None and tuple(config.input_size) != self.backbone.spec.input_size:
            self.backbone.spec = _spec_at(self.backbone, tuple(config.input_size))
        spec = self.backbone.spec
        self.rru = RRU(spec.channels, spec.map_size, config.gate_attention, config.gate_input) if config.rru else None
        self.temporal = create_temporal_head(config.temporal, spec.channels)
        self.feature_dim: int = self.temporal.out_dim
        with_heads = config.num_classes > 0
        self.classifier = ClassifierBlock(self.feature_dim, config.num_classes, config.dropout) if with_heads else None
        self.aux_head = self.backbone.make_aux_head(config.num_classes) if with_heads and config.aux else None

    @property
    def spec(self) -> BackboneSpec:
        return self.backbone.spec

    def forward(self, clips: torch.Tensor) -> ModelOutput:
        """clips: B×T×3×H×W normalised frames."""
        batch, length = clips.shape[:2]
        want_aux = self.aux_head is not None and self.training
        maps, mid = self.backbone(clips.flatten(0, 1), with_mid=want_aux)
        maps = maps.view(batch, length, *maps.shape[1:])
        refined, gates = self.rru(maps) if self.rru is not None else (maps, None)
        f = self.temporal(refined)
        logits = self.classifier(f) if self.classifier is not None else None
        aux_logits = None
        if want_aux and mid is not None:
            aux_logits = self.aux_head(mid.view(batch, length, *mid.shape[1:]).mean(dim=1))
        return ModelOutput(f=f, refined=refined, gates=gates, logits=logits, aux_logits=aux_logits)
