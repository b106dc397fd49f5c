"""How well proposed people match labels: pairwise precision/recall/F1 and an IDF1-style score.

Only labelled tracklets count. Pairwise: every pair of labelled tracklets is "same person" or not,
in the labels and in the proposal. IDF1-style: people and proposals are matched one to one
(Hungarian, maximising the boxes they share); IDF1 = 2·IDTP / (boxes in labels + boxes in proposals),
which is IDTP over all labelled boxes here, as every labelled tracklet is in exactly one proposal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class PeopleScore:
    precision: float
    recall: float
    f1: float
    idf1: float
    people: int  # proposed people holding labelled tracklets

    def row(self) -> str:
        return f"{self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} | {self.idf1:.3f} | {self.people}"


def score_people(predicted: Sequence[int], truth: Sequence[int], weights: Sequence[float] | None = None) -> PeopleScore:
    """Scores of a labelled tracklet list: ``predicted[i]`` its proposal, ``truth[i]`` its person,
    ``weights[i]`` its boxes (for IDF1; default 1)."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    weights = np.ones(len(truth)) if weights is None else np.asarray(weights, dtype=np.float64)
    same_true = truth[:, None] == truth[None, :]
    same_pred = predicted[:, None] == predicted[None, :]
    upper = np.triu(np.ones_like(same_true), k=1)
    hits = float((same_true & same_pred & upper).sum())
    claimed, real = float((same_pred & upper).sum()), float((same_true & upper).sum())
    precision = hits / claimed if claimed else 1.0
    recall = hits / real if real else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    people, proposals = sorted(set(truth.tolist())), sorted(set(predicted.tolist()))
    shared = np.zeros((len(people), len(proposals)))
    counts = Counter()
    for t, p, w in zip(truth.tolist(), predicted.tolist(), weights.tolist()):
        counts[(t, p)] += w
    for (t, p), w in counts.items():
        shared[people.index(t), proposals.index(p)] = w
    rows, columns = linear_sum_assignment(-shared)
    idf1 = float(shared[rows, columns].sum() / weights.sum()) if weights.sum() else 0.0
    return PeopleScore(precision, recall, f1, idf1, len(proposals))


def labels_of(groups: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Group number per row (rows in no group get a number of their own)."""
    out = np.arange(n) + len(groups)
    for number, group in enumerate(groups):
        out[list(group)] = number
    return out
