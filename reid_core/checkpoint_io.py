"""Reading weight files safely: data only (``weights_only=True``) and errors that name the file."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

from reid_core.errors import ResourceError, UserError, disk_nearly_full, one_line, storage_error
from reid_core.whole_file import written_whole

OPTIONAL_SUFFIX = "num_batches_tracked"  # BatchNorm counters: absent from older torchvision checkpoints


class CheckpointError(UserError):
    """A weights or checkpoint file that cannot be used; the message names the file."""


def save_torch_file(data: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file renamed into place, so a crash never leaves half a file.

    A full disk is one clear error (``ResourceError``: torch reports it as a bare RuntimeError from
    its zip writer) and leaves the previous file, if any, as it was.
    """
    import torch

    path = Path(path)
    with written_whole(path) as partial:
        try:
            torch.save(data, partial)
        except (OSError, RuntimeError) as exc:
            # judged while the partial file still holds its space: removing it first could hide a full disk
            problem = storage_error(exc, path) if isinstance(exc, OSError) else None
            if problem is None and disk_nearly_full(path.parent):
                problem = ResourceError(f"{path}: disk full (the file was not written)")
            if problem is None:
                raise
            raise problem from exc
    return path


def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` restricted to plain data, with a clear error for a bad file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    import torch  # here, not at the top: commands that only catch CheckpointError must not pay for torch

    if not path.is_file():
        raise CheckpointError(f"{path}: not a file (a checkpoint is one .pt file)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about old pickle protocols before refusing them
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/foreign files
        raise CheckpointError(f"{path}: not a readable PyTorch weights file ({weights_only_reason(exc)})") from exc


def weights_only_reason(exc: BaseException) -> str:
    """Why a ``weights_only`` load failed, in a few words: the code a pickle refers to, or the damage."""
    text = str(exc)
    code = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if code:
        return f"it refers to code: {code.group(1)}"
    detail = re.search(r"WeightsUnpickler error:(.+?)(Check the documentation|$)", text, re.DOTALL)
    if detail:
        return f"not plain data: {one_line(Exception(detail.group(1)))}"[:160]
    return f"{type(exc).__name__}: {one_line(exc)}"[:160]


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``; accepts a bare dict or one under 'state_dict'."""
    import torch

    data = load_torch_file(path)
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors")
    return data


def load_weights_into(
    module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path, optional: tuple[str, ...] = ()
) -> None:
    """Load ``state`` into ``module`` strictly: every name and shape must fit, except that keys
    starting with one of ``optional`` may be absent. A foreign checkpoint is refused, naming the file."""
    own = module.state_dict()
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.startswith(optional) and not k.endswith(OPTIONAL_SUFFIX)]
    misshaped = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if unexpected or missing or misshaped:
        problems = [
            f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped))
            if keys
        ]
        raise CheckpointError(f"{path}: weights do not fit {type(module).__name__} ({'; '.join(problems)})")
    module.load_state_dict(state, strict=False)
