"""Checking a detector file before ultralytics sees it: no code from data files.

ultralytics unpickles ``.pt`` files, and unpickling runs whatever the file asks for. So a file
is accepted only as

- ``.onnx``: a protobuf graph (data), parsed by onnxruntime; or
- ``.pt``: a file that ``torch.load(weights_only=True)`` reads, with the only classes allowed
  being the layer classes of ``torch.nn`` and ``ultralytics.nn`` (an ultralytics checkpoint
  pickles its model object). Any other reference in the pickle (``os.system``, ``builtins.eval``,
  ...) refuses the file before anything in it runs.

ultralytics then loads a private copy of exactly the bytes that passed the check, so the file
cannot be swapped between the check and the load.
"""

from __future__ import annotations

import importlib
import io
import tempfile
import warnings
import zipfile
from pathlib import Path

from reid_core.checkpoint_io import weights_only_reason
from reid_core.errors import UserError, one_line

DETECTOR_SUFFIXES = (".onnx", ".pt")
# Modules whose nn.Module subclasses an ultralytics checkpoint may name.
LAYER_MODULE_PREFIXES = ("torch.nn.modules.", "ultralytics.nn.")


class DetectorError(UserError):
    """A detector weights file that cannot be used; the message names the file."""


def _layer_class(name: str) -> type | None:
    """The nn.Module subclass a pickle global names, or None when it is anything else."""
    import torch

    module_name, _, attr = name.rpartition(".")
    if not module_name.startswith(LAYER_MODULE_PREFIXES):
        return None
    try:
        value = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return None
    return value if isinstance(value, type) and issubclass(value, torch.nn.Module) else None


def check_torch_weights(data: bytes, path: Path) -> None:
    """Refuse ``.pt`` bytes unless ``torch.load(weights_only=True)`` reads them with layer classes only."""
    import torch

    allowed: list[type] = []
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            names = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
        except Exception as exc:  # a damaged archive: torch raises many types
            raise DetectorError(f"{path}: not a readable PyTorch file ({one_line(exc)})") from exc
        for name in names:
            cls = _layer_class(name)
            if cls is None:
                raise DetectorError(f"{path}: refused: not plain weights (it refers to code: {name})") from None
            allowed.append(cls)
    try:
        with torch.serialization.safe_globals(allowed), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about old pickle protocols before refusing them
            torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for code references, others for corrupt files
        raise DetectorError(f"{path}: refused: not plain weights ({weights_only_reason(exc)})") from None


def checked_detector(path: str | Path) -> Path:
    """The file ultralytics may load for ``path``, after the checks above; raises DetectorError.

    An ``.onnx`` file is returned as is (a graph is data); a ``.pt`` file's checked bytes are
    copied to a private temporary file that is returned.
    """
    path = Path(path)
    if not path.exists():
        raise DetectorError(f"{path}: no such detector file")
    if not path.is_file():
        raise DetectorError(f"{path}: not a file (a detector is one .onnx or .pt file)")
    if path.suffix.lower() not in DETECTOR_SUFFIXES:
        raise DetectorError(f"{path}: unsupported detector format {path.suffix!r} (use .onnx or .pt)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DetectorError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not data:
        raise DetectorError(f"{path}: empty file")
    if path.suffix.lower() == ".onnx":
        return path
    check_torch_weights(data, path)
    folder = Path(tempfile.mkdtemp(prefix="reid-detector-"))
    copy = folder / path.name
    copy.write_bytes(data)
    return copy
