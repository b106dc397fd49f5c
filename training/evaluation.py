"""CMC and mAP over a query/gallery split, in query blocks so MARS-sized galleries fit.

Rules per query: gallery entries of the same identity seen by the same camera are junk
(ignored, which also removes the query itself), entries with pid −1 are junk (MARS), and
pid 0 distractors stay as negatives. Two AP conventions:
- "official": the datasets' MATLAB code (Market-1501/MARS) — trapezoid rule over recall,
  starting from precision 1 at recall 0; use it to compare with the paper.
- "mean_precision": torchreid's — mean of the precision at each true match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reid_core.search import k_reciprocal_distances, normalise

APConvention = Literal["official", "mean_precision"]
RANKS = (1, 5, 10, 20)
QUERY_BLOCK = 256


@dataclass
class EvalResult:
    cmc: np.ndarray  # cmc[k-1] = share of queries with a true match within the top k
    mean_ap: float
    queries: int  # queries with at least one true match (the others are skipped, as is customary)
    ap_convention: str
    per_rank: dict[int, float] = field(default_factory=dict)
    query_aps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # each counted query's AP, in query order

    def summary(self) -> str:
        ranks = "  ".join(f"R{k} {100 * v:.1f}" for k, v in self.per_rank.items())
        return f"mAP {100 * self.mean_ap:.1f} ({self.ap_convention})  {ranks}  over {self.queries} queries"


def average_precision(hits: np.ndarray, convention: APConvention = "official") -> float:
    """AP of one ranked list of booleans (junk already removed)."""
    positions = np.flatnonzero(hits)
    if positions.size == 0:
        return 0.0
    precision_at_hits = np.arange(1, positions.size + 1) / (positions + 1)
    if convention == "mean_precision":
        return float(precision_at_hits.mean())
    # Official: each hit raises recall by 1/n; the area uses the mean of the precision just
    # before the hit (at the previous rank, or 1.0 at the start) and the precision at the hit.
    before = np.where(positions > 0, np.arange(0, positions.size) / np.maximum(positions, 1), 1.0)
    return float(np.sum((before + precision_at_hits) / 2) / positions.size)


def evaluate(
    query_features: np.ndarray,
    query_pids: np.ndarray,
    query_cams: np.ndarray,
    gallery_features: np.ndarray,
    gallery_pids: np.ndarray,
    gallery_cams: np.ndarray,
    max_rank: int = 20,
    ap_convention: APConvention = "official",
    rerank: bool = False,
) -> EvalResult:
    """Cosine distances between L2-normalised features, computed one query block at a time."""
    query_features, gallery_features = normalise(query_features), normalise(gallery_features)
    cmc_sum = np.zeros(max_rank)
    aps = []
    for start in range(0, len(query_pids), QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        if rerank:
            distances = k_reciprocal_distances(query_features[block], gallery_features)
        else:
            distances = 1.0 - query_features[block] @ gallery_features.T
        for row, pid, cam in zip(distances, query_pids[block], query_cams[block]):
            order = np.argsort(row, kind="stable")
            ranked_pids, ranked_cams = gallery_pids[order], gallery_cams[order]
            junk = (ranked_pids == -1) | ((ranked_pids == pid) & (ranked_cams == cam))
            hits = ranked_pids[~junk] == pid
            if not hits.any():
                continue
            first = int(np.argmax(hits))
            if first < max_rank:
                cmc_sum[first:] += 1
            aps.append(average_precision(hits, ap_convention))
    count = len(aps)
    if count == 0:
        raise ValueError("no query has a true match in the gallery")
    cmc = cmc_sum / count
    per_rank = {k: float(cmc[k - 1]) for k in RANKS if k <= max_rank}
    return EvalResult(
        cmc=cmc,
        mean_ap=float(np.mean(aps)),
        queries=count,
        ap_convention=ap_convention,
        per_rank=per_rank,
        query_aps=np.array(aps),
    )


def mean_result(results: list[EvalResult]) -> EvalResult:
    """The mean over splits (iLIDS-VID, PRID-2011): CMC and mAP averaged, queries summed."""
    cmc = np.mean([r.cmc for r in results], axis=0)
    return EvalResult(
        cmc=cmc,
        mean_ap=float(np.mean([r.mean_ap for r in results])),
        queries=sum(r.queries for r in results),
        ap_convention=results[0].ap_convention,
        per_rank={k: float(cmc[k - 1]) for k in results[0].per_rank},
    )
