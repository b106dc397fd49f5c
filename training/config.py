"""Training configuration: the paper's defaults, overridable from a YAML file and the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class TrainConfig:
    variant: str = "rru_stim"  # a reid_core.model.VARIANTS name (Table 1 architecture)
    backbone: str = "inception_v3"
    backbone_weights: str | None = None  # local ImageNet weights; random init without them
    input_size: tuple[int, int] | None = None  # None: the backbone's size (299×299 for Inception-v3)
    ids_per_batch: int = 10  # N
    tracklets_per_id: int = 2  # K
    frames_per_clip: int = 8  # T
    epochs: int = 900  # the authors' code; real runs usually stop far earlier on the held-out score
    iterations_per_epoch: int | None = None  # None: one pass over the identities
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    pretrained_lr_scale: float = 0.1  # the backbone's (pretrained) layers learn 10× slower
    dropout: float = 0.5
    loss_identity: float = 1.0  # Lc
    loss_video: float = 1.0  # Lv
    loss_part: float = 1.0  # Lp
    margin: float = 0.4
    held_out_ids: float = 0.2  # share of training identities kept for model selection
    eval_every: int = 1
    eval_max_frames: int | None = None  # cap frames per tracklet when evaluating (None: all)
    seed: int = 0
    amp: bool = True  # mixed precision, on CUDA only

    def to_dict(self) -> dict:
        return asdict(self)


def load_config(path: str | Path | None = None, **overrides: object) -> TrainConfig:
    """Defaults, then a YAML file's keys, then explicit overrides (None values are ignored)."""
    config = TrainConfig()
    known = {f.name for f in fields(TrainConfig)}
    if path is not None:
        path = Path(path)
        if not path.is_file() and (CONFIG_DIR / path).is_file():
            path = CONFIG_DIR / path
        data = yaml.safe_load(path.read_text()) or {}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        config = replace(config, **data)
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.input_size is not None:
        config = replace(config, input_size=tuple(config.input_size))
    return config
