"""Reading weight files safely: data only (``weights_only=True``) and errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class CheckpointError(RuntimeError):
    """A weights or checkpoint file that cannot be used; the message names the file."""


def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` restricted to plain data, with a clear error for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    import torch  # here, not at the top: commands that only catch CheckpointError must not pay for torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/foreign files
        raise CheckpointError(f"{path}: not a readable PyTorch weights file ({type(exc).__name__}: {exc})") from exc


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``; accepts a bare dict or one under 'state_dict'."""
    import torch

    data = load_torch_file(path)
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors")
    return data
