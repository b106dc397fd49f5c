"""Batch-hard triplet (Eq. 8) and part-level loss (Eq. 9–10) against brute force."""

from __future__ import annotations

import math

import pytest
import torch

from reid_core.losses import LossWeights, ReIDLoss, batch_hard_triplet, part_level_triplet
from reid_core.model import ModelOutput


def brute_force_triplet(features: list[list[float]], labels: list[int], margin: float) -> float:
    def dist(a: list[float], b: list[float]) -> float:
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))

    total = 0.0
    for i, anchor in enumerate(features):
        positive = max(dist(anchor, features[j]) for j in range(len(features)) if labels[j] == labels[i])
        negative = min(dist(anchor, features[j]) for j in range(len(features)) if labels[j] != labels[i])
        total += max(0.0, margin + positive - negative)
    return total / len(features)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_hard_triplet_equals_brute_force(seed: int) -> None:
    torch.manual_seed(seed)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    features = torch.randn(8, 5) * 0.5
    expected = brute_force_triplet(features.tolist(), labels.tolist(), 0.4)
    assert float(batch_hard_triplet(features, labels, 0.4)) == pytest.approx(expected, rel=1e-5)


def test_triplet_is_zero_when_identities_are_far_apart() -> None:
    features = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.0, 0.1]])
    assert float(batch_hard_triplet(features, torch.tensor([0, 0, 1, 1]), 0.4)) == 0.0


def test_part_level_loss_equals_brute_force_over_strips() -> None:
    torch.manual_seed(3)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    refined = torch.randn(6, 4, 3, 5, 2)  # B, T, C, H=5 strips, W
    expected = 0.0
    for row in range(5):
        strips = [
            [sum(float(refined[b, t, c, row, w]) for t in range(4) for w in range(2)) / 8 for c in range(3)]
            for b in range(6)
        ]
        expected += brute_force_triplet(strips, labels.tolist(), 0.4)
    assert float(part_level_triplet(refined, labels, 0.4)) == pytest.approx(expected / 5, rel=1e-5)


def test_total_loss_sums_the_weighted_terms() -> None:
    torch.manual_seed(4)
    labels = torch.tensor([0, 0, 1, 1])
    output = ModelOutput(
        f=torch.randn(4, 8),
        refined=torch.randn(4, 2, 3, 4, 2),
        gates=None,
        logits=torch.randn(4, 2),
        aux_logits=torch.randn(4, 2),
    )
    terms = ReIDLoss(LossWeights())(output, labels)
    ce = torch.nn.functional.cross_entropy
    assert float(terms["ce"]) == pytest.approx(float(ce(output.logits, labels)))
    assert float(terms["aux"]) == pytest.approx(float(ce(output.aux_logits, labels)))
    expected = sum(float(terms[k]) for k in ("ce", "aux", "video", "part"))
    assert float(terms["total"]) == pytest.approx(expected)
    only_video = ReIDLoss(LossWeights(identity=0.0, part=0.0))(output, labels)
    assert float(only_video["total"]) == pytest.approx(float(batch_hard_triplet(output.f, labels, 0.4)))
