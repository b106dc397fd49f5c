"""The grouping's rules on small hand-made cases: what it must never merge, and what it must."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.people_grouping import GroupingInput, GroupingOptions, group_tracklets, threshold_components
from app.pipeline.people_scores import labels_of, score_people


def case(
    spans: list[tuple[int, float, float]], vectors: np.ndarray | None = None, cameras: int = 2, **extra: object
) -> GroupingInput:
    """Tracklets (camera, start s, end s); identical vectors unless given."""
    n = len(spans)
    if vectors is None:
        vectors = np.tile(np.eye(4, dtype=np.float32)[0], (n, 1))
    return GroupingInput(
        vectors=np.asarray(vectors, dtype=np.float32),
        cameras=np.array([s[0] for s in spans]),
        starts=np.array([s[1] for s in spans], dtype=float),
        ends=np.array([s[2] for s in spans], dtype=float),
        overlapping_views=np.eye(cameras, dtype=bool),
        min_transit=np.zeros((cameras, cameras)),
        **extra,
    )


def together(groups: list[list[int]], a: int, b: int) -> bool:
    return any(a in g and b in g for g in groups)


def test_two_tracklets_at_one_instant_in_one_camera_are_never_one_person() -> None:
    # identical vectors: similarity alone would put all four together
    data = case([(0, 0, 10), (0, 5, 15), (1, 30, 40), (1, 50, 60)])
    groups = group_tracklets(data, GroupingOptions(threshold=0.5)).groups
    assert not together(groups, 0, 1)
    assert len(groups) == 2  # the later tracklets may join either of the two people, never a third
    assert group_tracklets(data, GroupingOptions(threshold=0.5, time_constraints=False)).groups == [[0, 1, 2, 3]]


def test_a_chain_through_a_third_tracklet_cannot_join_two_people_seen_at_once() -> None:
    # 0 and 1 overlap in camera 0; 2 (camera 1, later) is like both: it may join one of them, never both
    vectors = np.array([[1, 0, 0, 0], [0.9, 0.43, 0, 0], [0.97, 0.2, 0, 0]])
    groups = group_tracklets(case([(0, 0, 10), (0, 2, 12), (1, 40, 50)], vectors), GroupingOptions(0.5)).groups
    assert not together(groups, 0, 1) and len(groups) == 2


@pytest.mark.parametrize(
    ("second", "overlap", "handover", "expect"),
    [
        ((1, 2, 8), False, 1.0, False),  # another camera at the same instant: not the same person
        ((1, 2, 8), True, 1.0, True),  # ... unless the two views overlap
        ((1, 9.5, 20), False, 1.0, True),  # 0.5 s in both: a person crossing from one view to the next
        ((1, 9.5, 20), False, 0.0, False),  # ... not tolerated without a handover allowance
    ],
)
def test_two_cameras_at_one_instant(second: tuple, overlap: bool, handover: float, expect: bool) -> None:
    data = case([(0, 0, 10), second])
    data.overlapping_views[0, 1] = data.overlapping_views[1, 0] = overlap
    groups = group_tracklets(data, GroupingOptions(threshold=0.5, handover_s=handover)).groups
    assert together(groups, 0, 1) is expect


def test_a_learned_transit_time_forbids_a_faster_trip() -> None:
    data = case([(0, 0, 10), (1, 20, 30), (1, 100, 110)])
    data.min_transit[0, 1] = data.min_transit[1, 0] = 60.0
    groups = group_tracklets(data, GroupingOptions(threshold=0.5)).groups
    assert not together(groups, 0, 1) and together(groups, 0, 2)


def test_the_operators_verdicts_are_hard_constraints() -> None:
    vectors = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    spans = [(0, 0, 10), (1, 100, 110), (0, 200, 210), (1, 300, 310)]
    data = case(spans, vectors, must_link=[[0, 1]], cannot_link=[(2, 3)])
    groups = group_tracklets(data, GroupingOptions(threshold=0.5)).groups
    assert together(groups, 0, 1)  # confirmed, though their vectors are orthogonal
    assert not together(groups, 2, 3)  # rejected, though identical


def test_average_linkage_does_not_chain_like_thresholding() -> None:
    # a-b and b-c are similar, a-c are not: thresholding joins all three, average linkage only a pair
    vectors = np.array([[1, 0, 0, 0], [0.8, 0.6, 0, 0], [0.28, 0.96, 0, 0]])
    assert threshold_components(vectors.astype(np.float32), 0.75) == [[0, 1, 2]]
    groups = group_tracklets(case([(0, 0, 1), (1, 5, 6), (0, 9, 10)], vectors), GroupingOptions(0.75)).groups
    assert sorted(map(len, groups)) == [1, 2]


def test_grouping_is_deterministic_and_the_odd_member_is_the_most_doubtful() -> None:
    rng = np.random.default_rng(1)
    people = np.repeat(np.arange(20), 5)
    centres = rng.standard_normal((20, 32))
    vectors = centres[people] + 0.3 * rng.standard_normal((100, 32))
    vectors[7] = centres[1] * 0.5 + centres[2] * 0.5 + 0.3 * rng.standard_normal(32)  # between two people
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spans = [(i % 4, 100.0 * i, 100.0 * i + 10) for i in range(100)]
    data = case(
        spans,
        vectors,
        cameras=4,
    )
    first, second = (group_tracklets(data, GroupingOptions(threshold=0.6)) for _ in range(2))
    assert first.groups == second.groups and np.array_equal(first.member_confidence, second.member_confidence)
    assert score_people(labels_of(first.groups, 100), people).f1 > 0.9
    own = next(g for g in first.groups if 7 in g)
    assert first.member_confidence[7] == min(first.member_confidence[own])


def test_cancelling_stops_the_grouping() -> None:
    from app.pipeline.people_grouping import GroupingCancelled

    data = case([(0, 10.0 * i, 10.0 * i + 5) for i in range(2000)], np.random.default_rng(0).random((2000, 8)))
    with pytest.raises(GroupingCancelled):
        group_tracklets(data, GroupingOptions(), cancelled=lambda: True)


def test_scores() -> None:
    truth = [1, 1, 2, 2]
    assert score_people([5, 5, 6, 6], truth).f1 == 1.0 and score_people([5, 5, 6, 6], truth).idf1 == 1.0
    lumped = score_people([0, 0, 0, 0], truth)
    assert (lumped.precision, lumped.recall) == (pytest.approx(2 / 6), 1.0)
    assert lumped.idf1 == 0.5  # one proposal can be matched to one person only
    apart = score_people([0, 1, 2, 3], truth, weights=[3, 1, 1, 1])
    assert (apart.recall, apart.idf1) == (0.0, pytest.approx(4 / 6))
