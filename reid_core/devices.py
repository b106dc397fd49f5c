"""Where models run: the device names the CLI, the app and the trainers accept, and the one resolver.

``auto`` picks the GPU when PyTorch sees one; on a CPU it embeds with onnxruntime (several times
faster than PyTorch's CPU kernels for the OMZ backbone's many small convolutions) and trains with
PyTorch. torch is imported only when a name is resolved, so argument parsing stays light.
"""

from __future__ import annotations

from reid_core.errors import ResourceError

DEVICE_CHOICES = ("auto", "cpu", "cuda")  # any job: embed, train, fine-tune, adapt (cuda:N also accepted)
EMBED_DEVICE_CHOICES = (*DEVICE_CHOICES, "onnx")  # embedding can also run on onnxruntime


def resolve_device(device: str, training: bool = False) -> str:
    """The concrete device for ``device`` ("cpu", "cuda", "cuda:N" or, to embed, "onnx")."""
    import torch

    allowed = DEVICE_CHOICES if training else EMBED_DEVICE_CHOICES
    base = device.split(":", 1)[0]
    if base not in allowed or (":" in device and base != "cuda"):
        raise ValueError(f"device must be one of {allowed}, not {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else ("cpu" if training else "onnx")
    if base == "cuda" and not torch.cuda.is_available():
        raise ResourceError(f"--device {device}: no CUDA GPU on this machine (PyTorch sees none); use --device cpu")
    return device
