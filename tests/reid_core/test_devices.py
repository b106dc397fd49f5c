"""The one device vocabulary and its resolver (fast)."""

from __future__ import annotations

import pytest
import torch

from reid_core.devices import DEVICE_CHOICES, EMBED_DEVICE_CHOICES, resolve_device
from reid_core.errors import ResourceError


def test_auto_embeds_on_onnxruntime_and_trains_on_torch_without_a_gpu() -> None:
    if torch.cuda.is_available():
        assert resolve_device("auto") == resolve_device("auto", training=True) == "cuda"
    else:
        assert (resolve_device("auto"), resolve_device("auto", training=True)) == ("onnx", "cpu")


@pytest.mark.parametrize(("device", "training"), [("onnx", True), ("gpu", False), ("cpu:1", False), ("", False)])
def test_unknown_names_are_refused(device: str, training: bool) -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device(device, training=training)


def test_cuda_without_a_gpu_is_one_clear_user_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ResourceError, match="no CUDA GPU"):
        resolve_device("cuda:0", training=True)


def test_the_choices_nest() -> None:
    assert set(DEVICE_CHOICES) < set(EMBED_DEVICE_CHOICES) and "onnx" not in DEVICE_CHOICES
