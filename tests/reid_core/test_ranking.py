"""Ranking against brute force, filters, and re-ranking against a literal reference."""

from __future__ import annotations

import numpy as np
import pytest

from reid_core.search import k_reciprocal_distances, normalise, top_k_cosine


def brute_force(queries, gallery, k, mask, combine):
    q = normalise(queries)
    scores = []
    for row in range(gallery.shape[0]):
        if mask is not None and not mask[row]:
            continue
        if combine == "average":
            mean = q.mean(axis=0)
            score = float(gallery[row] @ (mean / np.linalg.norm(mean)))
        else:
            score = max(float(gallery[row] @ v) for v in q)
        scores.append((-score, row))
    scores.sort()
    return [row for _, row in scores[:k]], [-s for s, _ in scores[:k]]


@pytest.mark.parametrize("combine", ["average", "best"])
@pytest.mark.parametrize("use_mask", [False, True])
def test_blocked_top_k_equals_brute_force(combine: str, use_mask: bool) -> None:
    rng = np.random.default_rng(0)
    gallery = normalise(rng.normal(size=(1000, 16)))
    queries = rng.normal(size=(3, 16))
    mask = rng.random(1000) > 0.4 if use_mask else None
    rows, sims = top_k_cosine(queries, gallery, 25, mask, combine, block_rows=97)
    expected_rows, expected_sims = brute_force(queries, gallery, 25, mask, combine)
    assert rows.tolist() == expected_rows
    np.testing.assert_allclose(sims, expected_sims, rtol=1e-5)
    if mask is not None:
        assert mask[rows].all()


def test_fewer_candidates_than_k_returns_only_those() -> None:
    gallery = normalise(np.eye(4, dtype=np.float32))
    mask = np.array([False, True, False, True])
    rows, _ = top_k_cosine(gallery[:1], gallery, 10, mask)
    assert sorted(rows.tolist()) == [1, 3]


def reference_rerank(q, g, k1, k2, lam):
    """Straight transcription of the published algorithm with explicit loops and sets."""
    feats = np.concatenate([q, g]).astype(np.float64)
    n, nq = len(feats), len(q)
    dist = np.array([[float(np.sum((a - b) ** 2)) for b in feats] for a in feats])
    dist = (dist / dist.max(axis=0)).T
    rank = [sorted(range(n), key=lambda j, i=i: (dist[i][j], j)) for i in range(n)]

    def recip(i, k):
        return [j for j in rank[i][: k + 1] if i in rank[j][: k + 1]]

    V = np.zeros((n, n))
    for i in range(n):
        base = recip(i, k1)
        members = set(base)
        for c in base:
            cand = recip(c, int(np.around(k1 / 2)))
            if len(set(cand) & set(base)) > 2 / 3 * len(cand):
                members |= set(cand)
        members = sorted(members)
        w = np.array([np.exp(-dist[i][j]) for j in members])
        for j, wj in zip(members, w / w.sum()):
            V[i][j] = wj
    if k2 > 1:
        V = np.array([np.mean([V[j] for j in rank[i][:k2]], axis=0) for i in range(n)])
    out = np.zeros((nq, n - nq))
    for i in range(nq):
        for j in range(nq, n):
            overlap = sum(min(V[i][c], V[j][c]) for c in range(n))
            jac = 1 - overlap / (2 - overlap)
            out[i][j - nq] = jac * (1 - lam) + dist[i][j] * lam
    return out


def test_rerank_equals_reference_on_a_small_set() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(5, 8))
    gallery = normalise(np.repeat(centres, 6, axis=0) + 0.4 * rng.normal(size=(30, 8)))
    query = normalise(centres[:3] + 0.4 * rng.normal(size=(3, 8)))
    got = k_reciprocal_distances(query, gallery, k1=6, k2=3, lambda_value=0.3)
    np.testing.assert_allclose(got, reference_rerank(query, gallery, 6, 3, 0.3), atol=1e-9)


def test_rerank_improves_a_clustered_ranking() -> None:
    """A query near a cluster's edge: re-ranking pulls the cluster's members to the front."""
    rng = np.random.default_rng(2)
    centres = normalise(rng.normal(size=(8, 32)))
    labels = np.repeat(np.arange(8), 5)
    gallery = normalise(centres[labels] + 0.25 * rng.normal(size=(40, 32)))
    query = normalise(centres[:8] + 0.45 * rng.normal(size=(8, 32)))
    plain = -(query @ gallery.T)
    reranked = k_reciprocal_distances(query, gallery, k1=6, k2=3)

    def mean_ap(dist):
        aps = []
        for i in range(8):
            hits = labels[np.argsort(dist[i], kind="stable")] == i
            precision = np.cumsum(hits) / np.arange(1, 41)
            aps.append(float((precision * hits).sum() / hits.sum()))
        return float(np.mean(aps))

    assert mean_ap(reranked) >= mean_ap(plain)
