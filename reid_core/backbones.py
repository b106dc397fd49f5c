"""Frame backbones behind one small registry.

Each backbone maps a batch of normalised frames (N×3×H×W) to the final feature map X
(N×C×h×w) and a mid-level map that the auxiliary classifier reads. Weights come only from
local files (torchvision state-dict key names); nothing is downloaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn
from torchvision import models
from torchvision.models.inception import InceptionAux

from reid_core.checkpoint_io import CheckpointError, load_state_dict_file, load_weights_into
from reid_core.graph_net import GraphNet


@dataclass(frozen=True)
class BackboneSpec:
    """What the rest of the model needs to know about a backbone."""

    name: str
    input_size: tuple[int, int]  # (height, width) of each frame
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channels: int  # C of the final map X
    map_size: tuple[int, int]  # (h, w) of X at input_size
    aux_channels: int  # channels of the mid-level map the aux classifier reads


class Backbone(nn.Module):
    """Common interface: ``forward`` returns (X, mid) where mid may be skipped for speed."""

    spec: BackboneSpec

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """Final feature map only (the inference path)."""
        return self.forward(frames, with_mid=False)[0]

    def make_aux_head(self, num_classes: int) -> nn.Module:
        raise NotImplementedError


class InceptionV3Backbone(Backbone):
    """Inception-v3 up to Mixed_7c (paper: 299×299 → 2048×8×8); aux reads Mixed_6e."""

    spec = BackboneSpec(
        name="inception_v3",
        input_size=(299, 299),
        mean=(0.5, 0.5, 0.5),  # the authors' code normalises with mean = std = 0.5
        std=(0.5, 0.5, 0.5),
        channels=2048,
        map_size=(8, 8),
        aux_channels=768,
    )

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        net = models.inception_v3(weights=None, aux_logits=True, init_weights=weights is None)
        if weights is not None:
            state = load_state_dict_file(weights)
            load_weights_into(net, state, weights, optional=("fc.", "AuxLogits.fc."))  # heads are replaced anyway
        self.stem = nn.Sequential(
            net.Conv2d_1a_3x3,
            net.Conv2d_2a_3x3,
            net.Conv2d_2b_3x3,
            net.maxpool1,
            net.Conv2d_3b_1x1,
            net.Conv2d_4a_3x3,
            net.maxpool2,
            net.Mixed_5b,
            net.Mixed_5c,
            net.Mixed_5d,
            net.Mixed_6a,
            net.Mixed_6b,
            net.Mixed_6c,
            net.Mixed_6d,
            net.Mixed_6e,
        )
        self.top = nn.Sequential(net.Mixed_7a, net.Mixed_7b, net.Mixed_7c)
        # Kept as plain tensors (not a submodule) so the aux head is built once, by the model.
        self._aux_conv_state = {k: v for k, v in net.AuxLogits.state_dict().items() if not k.startswith("fc.")}

    def forward(self, frames: torch.Tensor, with_mid: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        mid = self.stem(frames)
        return self.top(mid), (mid if with_mid else None)

    def make_aux_head(self, num_classes: int) -> nn.Module:
        head = InceptionAux(self.spec.aux_channels, num_classes)
        head.load_state_dict(self._aux_conv_state, strict=False)
        return head


def _rename_legacy_mobilenet_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the old flat inverted-residual layout (conv.{0,1,3,4,6,7}) to torchvision's.

    Old blocks are a flat Sequential with ReLU6 at positions 2 and 5; current torchvision
    nests them as conv.{0.0,0.1,1.0,1.1,2,3} (or conv.{0.0,0.1,1,2} without expansion).
    """
    expanded = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}
    unexpanded = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
    block_keys: dict[str, set[str]] = {}
    pattern = re.compile(r"^features\.(\d+)\.conv\.(\d+)\.(.+)$")
    for key in state:
        match = pattern.match(key)
        if match:
            block_keys.setdefault(match.group(1), set()).add(match.group(2))
    renamed = {}
    for key, value in state.items():
        match = pattern.match(key)
        if not match:
            renamed[key] = value
            continue
        block, position, rest = match.groups()
        table = expanded if "6" in block_keys[block] else unexpanded
        if position not in table:  # already in the new layout
            renamed[key] = value
            continue
        renamed[f"features.{block}.conv.{table[position]}.{rest}"] = value
    return renamed


def pooled_linear_head(channels: int, num_classes: int) -> nn.Module:
    """Global average pooling then one linear layer: the aux classifier of the small backbones."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


class MobileNetV2Backbone(Backbone):
    """MobileNetV2 features at 256×128 (a common re-ID frame size) → 1280×8×4."""

    spec = BackboneSpec(
        name="mobilenet_v2",
        input_size=(256, 128),
        mean=(0.485, 0.456, 0.406),  # ImageNet statistics, as the weights were trained
        std=(0.229, 0.224, 0.225),
        channels=1280,
        map_size=(8, 4),
        aux_channels=96,
    )
    _MID_INDEX = 14  # features[:14] ends with the 96-channel stride-16 stage

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        features = models.mobilenet_v2(weights=None).features
        if weights is not None:
            state = load_state_dict_file(weights)
            state = {k.removeprefix("features."): v for k, v in _rename_legacy_mobilenet_keys(state).items()}
            features.load_state_dict(state, strict=True)
        self.low = features[: self._MID_INDEX]
        self.high = features[self._MID_INDEX :]

    def forward(self, frames: torch.Tensor, with_mid: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        mid = self.low(frames)
        return self.high(mid), (mid if with_mid else None)

    def make_aux_head(self, num_classes: int) -> nn.Module:
        return pooled_linear_head(self.spec.aux_channels, num_classes)


class OmzReid0287Backbone(Backbone):
    """The feature extractor of Intel OMZ person-reidentification-retail-0287 (Apache-2.0).

    An OSNet-like re-ID network trained on people, so its 256×16×8 map already separates
    identities; the RRU and STIM sit on it where the paper puts them on Inception-v3. The map
    is average-pooled 2×2 to 256×8×4 (the MobileNetV2 backbone's grid): STIM's 3×3×3
    convolution costs 4× less, which is what makes training and embedding fit a laptop CPU.
    The architecture is the packaged program ``graphs/omz_reid_0287.json`` (imported from the
    IR, cut before the embedding head); the network takes BGR pixels in 0–255 and normalises
    them itself, hence mean 0 and std 1/255 here (RGB crops are flipped to BGR in forward).
    ``weights``: the OpenVINO ``.xml`` (its ``.bin`` beside it) or a state dict of ``net.*``.
    """

    spec = BackboneSpec(
        name="omz_reid_0287",
        input_size=(256, 128),
        mean=(0.0, 0.0, 0.0),
        std=(1 / 255, 1 / 255, 1 / 255),
        channels=256,
        map_size=(8, 4),
        aux_channels=256,
    )
    PROGRAM = "omz_reid_0287.json"

    @classmethod
    def program(cls) -> dict:
        """The packaged architecture; its output is the IR layer the backbone ends at (``map_layer``)."""
        return json.loads(resources.files("reid_core.graphs").joinpath(cls.PROGRAM).read_text())

    @classmethod
    def map_layer(cls) -> int:
        return int(cls.program()["output"][0])

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        program = self.program()
        constants = None
        if weights is not None and Path(weights).suffix == ".xml":
            from reid_core.openvino_ir import read_ir

            constants = read_ir(weights, output_layer=int(program["output"][0]))[1]
        elif weights is not None:
            state = load_state_dict_file(weights)
            constants = {k.removeprefix("net.consts."): v for k, v in state.items() if k.startswith("net.consts.")}
        if constants is not None and set(constants) != set(program["floats"]):
            raise CheckpointError(f"{weights}: weights do not fit the {self.spec.name} backbone")
        self.net = GraphNet(program, constants)

    @staticmethod
    def pool(maps: torch.Tensor) -> torch.Tensor:
        """The network's 16×8 map → the 8×4 map the RRU reads."""
        return nn.functional.avg_pool2d(maps, 2)

    def forward(self, frames: torch.Tensor, with_mid: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        maps = self.pool(self.net(frames.flip(1)))
        return maps, (maps if with_mid else None)

    def make_aux_head(self, num_classes: int) -> nn.Module:
        return pooled_linear_head(self.spec.aux_channels, num_classes)


BACKBONES: dict[str, Callable[[str | Path | None], Backbone]] = {
    "inception_v3": InceptionV3Backbone,
    "mobilenet_v2": MobileNetV2Backbone,
    "omz_reid_0287": OmzReid0287Backbone,
}


def create_backbone(name: str, weights: str | Path | None = None) -> Backbone:
    """Build a registered backbone, optionally loading local ImageNet weights."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[name](weights)


def backbone_spec(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[name].spec
