"""No code from data files: a detector or weights file that tries to run code is refused first."""

from __future__ import annotations

import pytest
import torch

from detector.weights import DetectorError, checked_detector
from reid_core.backbones import create_backbone
from reid_core.checkpoint_io import CheckpointError


def test_ultralytics_checkpoint_of_layers_only_is_accepted(tmp_path):
    """A genuine ultralytics .pt (pickled layer classes, no other code) passes and is handed over as a copy."""
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolov8n.yaml", nc=80, verbose=False)
    path = tmp_path / "yolo.pt"
    torch.save({"model": model.half(), "train_args": {"imgsz": 640}, "epoch": -1}, path)
    copy = checked_detector(path)
    assert copy != path and copy.read_bytes() == path.read_bytes()


def test_detector_with_a_foreign_function_is_refused(tmp_path):
    path = tmp_path / "eval.pt"
    torch.save({"model": eval}, path)
    with pytest.raises(DetectorError, match=r"refers to code: builtins\.eval"):
        checked_detector(path)


def test_inception_refuses_a_foreign_checkpoint(tmp_path, mobilenet_weights):
    """A MobileNetV2 state dict given as Inception-v3 weights is an error, not a silently random backbone."""
    with pytest.raises(CheckpointError, match=r"mobilenet_v2_imagenet_features\.pt: weights do not fit"):
        create_backbone("inception_v3", weights=mobilenet_weights)


def test_inception_accepts_its_own_weights_without_classifier(tmp_path):
    state = {name: v for name, v in _torchvision_inception_state().items() if not name.startswith("fc.")}
    path = tmp_path / "inception_features.pt"
    torch.save(state, path)
    loaded = create_backbone("inception_v3", weights=path)
    assert torch.equal(loaded.top[2].branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])


def _torchvision_inception_state() -> dict[str, torch.Tensor]:
    from torchvision import models

    return models.inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict()
