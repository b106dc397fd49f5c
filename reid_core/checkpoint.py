"""Saving and loading re-ID checkpoints: plain data (config dict + state dict + metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reid_core.checkpoint_io import CheckpointError, load_torch_file, save_torch_file
from reid_core.hashing import sha256_file
from reid_core.model import ModelConfig, ReIDModel

CHECKPOINT_FORMAT = "rru-stim-reid"
CHECKPOINT_VERSION = 1


def save_checkpoint(model: ReIDModel, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a checkpoint."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    return save_torch_file(payload, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    data = load_torch_file(path)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an RRU+STIM re-ID checkpoint (no '{CHECKPOINT_FORMAT}' format tag)")
    if data.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data['version']} is newer than this program supports")
    return data


def load_model(path: str | Path, num_classes: int | None = None) -> ReIDModel:
    """Build the model a checkpoint describes and load its weights.

    ``num_classes`` overrides the stored classifier size (fine-tuning on new identities);
    classifier weights whose shape no longer fits are then left freshly initialised.
    """
    return model_from_checkpoint(read_checkpoint(path), path, num_classes)


def model_from_checkpoint(data: dict[str, Any], path: str | Path, num_classes: int | None = None) -> ReIDModel:
    """``load_model`` for checkpoint data already read with ``read_checkpoint`` (``path`` names it in errors)."""
    try:
        config = ModelConfig.from_dict(data["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad model config ({exc})") from exc
    state = data["state_dict"]
    if num_classes is not None and num_classes != config.num_classes:
        config = ModelConfig.from_dict({**config.to_dict(), "num_classes": num_classes})
    model = ReIDModel(config)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if k not in usable and not _is_head_key(k)]
    if missing:
        raise CheckpointError(f"{path}: weights do not fit the model (missing or mis-shaped: {missing[:5]} …)")
    model.load_state_dict(usable, strict=False)
    return model


def _is_head_key(key: str) -> bool:
    return key.startswith(("classifier.", "aux_head."))


def file_digest(path: str | Path) -> str:
    """Short content hash used as a model's identity in workspaces."""
    return sha256_file(path)[:16]
