"""`reid adapt --set adapt_gates=false keep_norm_statistics=true` keeps the start model's update gates:
what a gate loss taught stays."""

from __future__ import annotations

from dataclasses import replace

import torch

from reid_core.model import ModelConfig, ReIDModel
from training.adapt import AdaptConfig, TrackletMaps, adapt


def random_tracklets(model: ReIDModel, count: int = 12) -> list[TrackletMaps]:
    """Maps of ``count`` tracklets in two cameras (clean and augmented views of 4 frames each)."""
    spec = model.spec
    return [
        TrackletMaps(f"cam{i % 2}", i % 2, (float(i), float(i) + 0.5), torch.randn(2, 4, spec.channels, *spec.map_size))
        for i in range(count)
    ]


def test_adapt_changes_the_head_but_not_the_gates() -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    start_rru = {k: v.clone() for k, v in model.rru.state_dict().items()}
    start_temporal = {k: v.clone() for k, v in model.temporal.state_dict().items()}
    config = replace(AdaptConfig(), epochs=1, iterations_per_epoch=3, batch_size=4, tolerance=1.0, check="self")
    config = replace(config, adapt_gates=False, keep_norm_statistics=True)
    outcome = adapt(model, random_tracklets(model), config, log=lambda _: None)
    assert outcome.accepted and outcome.model is not None
    adapted = outcome.model
    # every RRU parameter and BatchNorm statistic is the start model's: the gate maps cannot move
    for key, value in adapted.rru.state_dict().items():
        assert torch.equal(value, start_rru[key]), key
    # ... while the temporal head did learn (and its BatchNorm statistics stayed the start model's)
    changed = [k for k, v in adapted.temporal.state_dict().items() if not torch.equal(v, start_temporal[k])]
    assert changed and not any("running_" in k for k in changed), changed
