"""Shapes for both backbones, every Table 1 variant, and gradients to every trainable layer."""

from __future__ import annotations

import pytest
import torch

from reid_core.backbones import create_backbone
from reid_core.losses import ReIDLoss
from reid_core.model import VARIANTS, ModelConfig, ReIDModel, variant_config


@pytest.mark.parametrize(
    ("backbone", "frame", "channels", "map_size"),
    [("inception_v3", (299, 299), 2048, (8, 8)), ("mobilenet_v2", (256, 128), 1280, (8, 4))],
)
def test_shapes_at_each_backbones_input_size(backbone, frame, channels, map_size) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone=backbone, num_classes=7)).train()
    clips = torch.randn(2, 3, 3, *frame)
    out = model(clips)
    assert out.f.shape == (2, 256)
    assert out.refined.shape == (2, 3, channels, *map_size)
    assert out.gates.shape == (2, 3, channels, *map_size)
    assert out.logits.shape == (2, 7)
    assert out.aux_logits.shape == (2, 7)
    assert model.spec.input_size == frame


def trainable_parameters_without_gradient(model: ReIDModel) -> list[str]:
    return [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or float(p.grad.abs().sum()) == 0.0)
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gradients_reach_every_trainable_layer(variant: str) -> None:
    torch.manual_seed(1)
    model = ReIDModel(variant_config(variant, num_classes=3)).train()
    clips = torch.randn(6, 3, 3, 96, 48)  # small frames keep this fast; shapes follow the input
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    if model.rru is not None:  # the gate's spatial FCs are sized for the default map; rebuild for 3×2
        model.rru = type(model.rru)(1280, (3, 2), model.config.gate_attention, model.config.gate_input)
    ReIDLoss()(model(clips), labels)["total"].backward()
    assert trainable_parameters_without_gradient(model) == []


def test_gradients_reach_every_layer_of_inception() -> None:
    torch.manual_seed(2)
    model = ReIDModel(ModelConfig(backbone="inception_v3", num_classes=2)).train()
    clips = torch.randn(4, 2, 3, 299, 299)
    ReIDLoss()(model(clips), torch.tensor([0, 0, 1, 1]))["total"].backward()
    assert trainable_parameters_without_gradient(model) == []


def test_variant_heads_have_their_paper_dimensions() -> None:
    dims = {name: ReIDModel(cfg).feature_dim for name, cfg in VARIANTS.items()}
    assert dims["baseline"] == 1280 and dims["rru"] == 1280
    assert dims["lstm"] == dims["stim"] == dims["rru_lstm"] == dims["rru_stim"] == 256


def test_unknown_names_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="unknown backbone 'resnet9'"):
        create_backbone("resnet9")
    with pytest.raises(ValueError, match="unknown variant"):
        variant_config("rru_plus_plus")


def test_mobilenet_imagenet_weights_load_into_torchvision_layout(mobilenet_weights) -> None:
    raw = torch.load(mobilenet_weights, weights_only=True)
    backbone = create_backbone("mobilenet_v2", mobilenet_weights)
    # Slicing a Sequential keeps the original indices, so both halves use torchvision's names.
    state = {f"features.{k}": v for half in (backbone.low, backbone.high) for k, v in half.state_dict().items()}
    torch.testing.assert_close(state["features.0.0.weight"], raw["features.0.0.weight"])
    torch.testing.assert_close(state["features.1.conv.1.weight"], raw["features.1.conv.3.weight"])
    torch.testing.assert_close(state["features.5.conv.2.weight"], raw["features.5.conv.6.weight"])
    torch.testing.assert_close(state["features.18.1.running_var"], raw["features.18.1.running_var"])
