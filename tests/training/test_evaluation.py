"""CMC and mAP against hand-worked rankings, including the MARS junk rule."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation import average_precision, evaluate


def test_average_precision_conventions_on_a_hand_worked_ranking() -> None:
    hits = np.array([True, False, True, False, False])  # 2 true matches, at ranks 1 and 3
    # torchreid: mean of precision at hits = (1/1 + 2/3) / 2
    assert average_precision(hits, "mean_precision") == pytest.approx((1 + 2 / 3) / 2)
    # official trapezoid: hit 1: (1 + 1)/2 · ½ ; hit 2: (precision 1/2 before, 2/3 at) → (1/2 + 2/3)/2 · ½
    assert average_precision(hits, "official") == pytest.approx(0.5 * 1 + 0.5 * (0.5 + 2 / 3) / 2)


def one_dimensional(values: list[float]) -> np.ndarray:
    """Unit vectors on a circle: cosine order follows the angle, so rankings are set by hand."""
    angles = np.array(values)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_cmc_and_map_with_the_junk_rule() -> None:
    # Query pid 1, camera 0 at angle 0. Gallery by increasing angle (= rank):
    # 0.1 same pid same cam (junk), 0.2 pid −1 (junk), 0.3 pid 2 (miss), 0.4 pid 1 cam 1 (hit),
    # 0.5 pid 0 distractor (miss, stays), 0.6 pid 1 cam 1 (hit).
    query = one_dimensional([0.0])
    gallery = one_dimensional([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    pids = np.array([1, -1, 2, 1, 0, 1])
    cams = np.array([0, 1, 1, 1, 1, 1])
    result = evaluate(query, np.array([1]), np.array([0]), gallery, pids, cams, ap_convention="mean_precision")
    # after junk removal: miss, hit, miss, hit → first hit at rank 2
    assert result.per_rank[1] == 0.0 and result.per_rank[5] == 1.0
    assert result.cmc[:4].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert result.mean_ap == pytest.approx((1 / 2 + 2 / 4) / 2)
    official = evaluate(query, np.array([1]), np.array([0]), gallery, pids, cams)
    # official: hit at 2nd place (prec before 0/1=0, at 1/2) ; hit at 4th (before 1/3, at 2/4)
    assert official.mean_ap == pytest.approx(0.5 * (0 + 0.5) / 2 + 0.5 * (1 / 3 + 0.5) / 2)


def test_queries_without_a_true_match_are_skipped_and_blocks_agree() -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(50, 8))
    pids = np.repeat(np.arange(10), 5)
    cams = np.tile(np.arange(5), 10)
    query = gallery[::5] + 0.1 * rng.normal(size=(10, 8))
    q_pids, q_cams = pids[::5].copy(), np.zeros(10, int)
    q_pids[0] = 99  # nobody in the gallery
    result = evaluate(query, q_pids, q_cams, gallery, pids, cams)
    assert result.queries == 9
    import training.evaluation as module

    block, module.QUERY_BLOCK = module.QUERY_BLOCK, 3
    try:
        blocked = evaluate(query, q_pids, q_cams, gallery, pids, cams)
    finally:
        module.QUERY_BLOCK = block
    np.testing.assert_allclose(blocked.cmc, result.cmc)
    assert blocked.mean_ap == pytest.approx(result.mean_ap)
