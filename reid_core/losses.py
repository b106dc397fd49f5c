"""The multi-level objective (Eq. 7–10): L = Lc + Lv + Lp."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from reid_core.model import ModelOutput

DEFAULT_MARGIN = 0.4


def euclidean_distances(features: torch.Tensor) -> torch.Tensor:
    """Pairwise Euclidean distances (B×B); the clamp keeps the sqrt's gradient finite at 0."""
    squared = features.pow(2).sum(dim=1)
    gram = features @ features.t()
    return (squared[:, None] + squared[None, :] - 2 * gram).clamp_min(1e-12).sqrt()


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float = DEFAULT_MARGIN) -> torch.Tensor:
    """Eq. 8: for each anchor, hardest positive and hardest negative; mean of the hinge."""
    distances = euclidean_distances(features)
    same = labels[:, None] == labels[None, :]
    hardest_positive = distances.masked_fill(~same, float("-inf")).max(dim=1).values
    hardest_negative = distances.masked_fill(same, float("inf")).min(dim=1).values
    return torch.relu(margin + hardest_positive - hardest_negative).mean()


def part_features(refined: torch.Tensor) -> torch.Tensor:
    """Eq. 9: p^r = mean over T and W of row r of S. refined B×T×C×H×W → B×H×C."""
    return refined.mean(dim=(1, 4)).transpose(1, 2)


def part_level_triplet(refined: torch.Tensor, labels: torch.Tensor, margin: float = DEFAULT_MARGIN) -> torch.Tensor:
    """Eq. 10: batch-hard triplet on each horizontal strip, averaged over the H strips."""
    parts = part_features(refined)
    losses = [batch_hard_triplet(parts[:, row], labels, margin) for row in range(parts.shape[1])]
    return torch.stack(losses).mean()


@dataclass(frozen=True)
class LossWeights:
    """Weights of each term; zero switches a term off (the Table 1 loss rows)."""

    identity: float = 1.0  # Lc (identity + aux cross-entropy)
    video: float = 1.0  # Lv
    part: float = 1.0  # Lp
    margin: float = DEFAULT_MARGIN


class ReIDLoss(nn.Module):
    def __init__(self, weights: LossWeights = LossWeights()) -> None:
        super().__init__()
        self.weights = weights
        self.cross_entropy = nn.CrossEntropyLoss()

    def forward(self, output: ModelOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Returns each term and their weighted sum under 'total'."""
        w = self.weights
        zero = output.f.new_zeros(())
        terms: dict[str, torch.Tensor] = {"ce": zero, "aux": zero, "video": zero, "part": zero}
        if w.identity and output.logits is not None:
            terms["ce"] = self.cross_entropy(output.logits.float(), labels)
            if output.aux_logits is not None:
                terms["aux"] = self.cross_entropy(output.aux_logits.float(), labels)
        if w.video:
            terms["video"] = batch_hard_triplet(output.f.float(), labels, w.margin)
        if w.part:
            terms["part"] = part_level_triplet(output.refined.float(), labels, w.margin)
        terms["total"] = w.identity * (terms["ce"] + terms["aux"]) + w.video * terms["video"] + w.part * terms["part"]
        return terms
