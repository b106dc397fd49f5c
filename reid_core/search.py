"""Cosine ranking over a gallery in blocks, and k-reciprocal re-ranking (Zhong et al., CVPR 2017).

Galleries are scanned in row blocks with a running top-k, so a million tracklets never need
more than one block of similarities in memory; only rows at least as similar as the current k-th
best are kept from each block, so the partial sort touches a few rows per block after the first.
Re-ranking needs distances among candidates, so it re-orders the top candidates of the cosine
ranking (not the whole gallery).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

BLOCK_ROWS = 131_072
Combine = Literal["average", "best"]


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def top_k_cosine(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int,
    mask: np.ndarray | None = None,
    combine: Combine = "average",
    block_rows: int = BLOCK_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank gallery rows (unit vectors) against one or several query vectors of one person.

    ``combine``: "average" ranks by similarity to the mean query direction; "best" by the
    highest similarity to any query vector. ``mask`` (bool per row) keeps only True rows.
    Returns (row indices, similarities), best first, at most ``k`` of them.
    """
    queries = normalise(np.atleast_2d(queries))
    if combine == "average":
        queries = normalise(queries.mean(axis=0, keepdims=True))
    elif combine != "best":
        raise ValueError(f"combine must be 'average' or 'best', not {combine!r}")
    best_rows = np.zeros(0, dtype=np.int64)
    best_sims = np.zeros(0, dtype=np.float32)
    threshold = -np.inf  # the k-th best similarity so far: rows below it cannot enter the top k
    for start in range(0, gallery.shape[0] if k > 0 else 0, block_rows):
        block = gallery[start : start + block_rows]
        sims = block @ queries[0] if queries.shape[0] == 1 else (block @ queries.T).max(axis=1)
        keep = sims >= threshold
        if mask is not None:
            keep &= mask[start : start + block.shape[0]]
        rows = np.flatnonzero(keep)
        best_rows = np.concatenate([best_rows, rows + start])
        best_sims = np.concatenate([best_sims, sims[rows].astype(np.float32)])
        if best_rows.shape[0] > k:
            chosen = np.argpartition(-best_sims, k - 1)[:k]
            best_rows, best_sims = best_rows[chosen], best_sims[chosen]
        if best_rows.shape[0] == k:
            threshold = float(best_sims.min())
    order = np.lexsort((best_rows, -best_sims))  # ties broken by row for a stable ranking
    return best_rows[order], best_sims[order]


def k_reciprocal_distances(
    query: np.ndarray, gallery: np.ndarray, k1: int = 20, k2: int = 6, lambda_value: float = 0.3
) -> np.ndarray:
    """Re-ranked distances (Q×G) between unit-vector queries and gallery rows.

    Follows Zhong et al. 2017: k-reciprocal sets with the ½k1 expansion rule, Gaussian
    weights of the original distance, local query expansion over k2 neighbours, Jaccard
    distance, blended with the original distance by λ.
    """
    features = np.concatenate([query, gallery]).astype(np.float64)
    n_query, total = query.shape[0], features.shape[0]
    squared = np.square(features).sum(axis=1)
    original = np.maximum(squared[:, None] + squared[None, :] - 2 * features @ features.T, 0.0)
    original = original / np.maximum(original.max(axis=0, keepdims=True), 1e-12)  # column-wise, as published
    original = original.T
    rank = np.argsort(original, axis=1, kind="stable")
    k1 = min(k1, total - 1)
    half = int(np.around(k1 / 2))

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = rank[i, : k + 1]
        return forward[(rank[forward, : k + 1] == i).any(axis=1)]

    weights = np.zeros((total, total))
    for i in range(total):
        base = reciprocal(i, k1)
        expansion = [base]
        for candidate in base:
            candidate_set = reciprocal(int(candidate), half)
            if len(np.intersect1d(candidate_set, base)) > 2 / 3 * len(candidate_set):
                expansion.append(candidate_set)
        members = np.unique(np.concatenate(expansion))
        w = np.exp(-original[i, members])
        weights[i, members] = w / w.sum()
    if k2 > 1:
        weights = weights[rank[:, :k2]].mean(axis=1)
    overlap = np.minimum(weights[:n_query, None, :], weights[None, :, :]).sum(axis=2)  # Q×N
    jaccard = 1.0 - overlap / (2.0 - overlap)
    blended = jaccard * (1 - lambda_value) + original[:n_query] * lambda_value
    return blended[:, n_query:]
