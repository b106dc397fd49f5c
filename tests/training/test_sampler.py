"""The training sampler's rules on synthetic records (no images read): identity-balanced batches,
anchor + known-negative batches for self-supervision (``known_different``), repeatable draws, windows."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np
import pytest

from training.data.records import TrackletRecord, VideoDataset
from training.sampler import identity_batches, pick_tracklets, window


class Frames:
    """A FrameSource of ``count`` frames; the sampler only asks for the length."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def read(self, indices: list[int]) -> list[np.ndarray]:
        raise AssertionError("the sampler must not read frames")


def dataset(people: int = 6, known_different: dict[int, set[int]] | None = None) -> VideoDataset:
    """``people`` identities, each with two tracklets on camera 0 and two on camera 1."""
    train = [TrackletRecord(Frames(10), pid, cam) for pid in range(people) for cam in (0, 1) for _ in range(2)]
    return VideoDataset("synthetic", train, known_different=known_different)


def pids_of(data: VideoDataset, batch: list[int]) -> list[int]:
    return [data.train[i].pid for i in batch]


def test_known_different_batches_hold_an_anchor_and_only_its_known_negatives() -> None:
    # 4 has no known negative, 5's only one (9) is not in the data: neither can anchor a batch
    known = {0: {1, 2, 3}, 1: {0}, 3: {4, 9}, 4: set(), 5: {9}}
    data = dataset(known_different=known)
    batches = identity_batches(data, n_ids=3, k=2, seed=7, epoch=0)
    anchors = sorted(pids_of(data, b)[0] for b in batches)
    assert anchors == [0, 1, 3]
    for batch in batches:
        pids = pids_of(data, batch)
        anchor, people = pids[0], list(dict.fromkeys(pids))
        assert set(people[1:]) <= known[anchor] and anchor not in people[1:]  # never two strangers presumed apart
        assert len(people) == min(3, 1 + len(known[anchor] & set(range(6))))  # n_ids caps the negatives
        assert Counter(pids) == dict.fromkeys(people, 2)  # K tracklets of each
    assert len(next(b for b in batches if pids_of(data, b)[0] == 0)) == 3 * 2


def test_without_known_different_each_identity_appears_once_per_epoch_in_full_batches() -> None:
    data = dataset(people=7)
    batches = identity_batches(data, n_ids=3, k=4, seed=1, epoch=2)
    assert len(batches) == 2  # 7 identities in batches of 3: the last, short one is dropped
    seen = [pid for b in batches for pid in dict.fromkeys(pids_of(data, b))]
    assert len(seen) == len(set(seen)) == 6
    for batch in batches:
        cameras = Counter((data.train[i].pid, data.train[i].camid) for i in batch)
        assert set(cameras.values()) == {2}  # K=4 of one person: both cameras, two each, before any repeat


def test_an_epoch_is_drawn_the_same_way_every_time_and_differently_from_the_next() -> None:
    data = dataset(people=6, known_different={p: set(range(6)) - {p} for p in range(6)})
    first = identity_batches(data, n_ids=2, k=2, seed=3, epoch=4)
    assert identity_batches(data, n_ids=2, k=2, seed=3, epoch=4) == first  # a resumed run draws the same
    assert identity_batches(data, n_ids=2, k=2, seed=3, epoch=5) != first


def test_one_identity_cannot_make_a_ranking_batch() -> None:
    with pytest.raises(ValueError, match="at least 2 identities"):
        identity_batches(dataset(people=1), n_ids=2, k=2, seed=0, epoch=0)


def test_tracklets_of_a_person_take_cameras_in_turn_and_reuse_only_when_exhausted() -> None:
    rng = np.random.default_rng(0)
    chosen = pick_tracklets({0: [10, 11], 1: [20]}, 5, rng)
    cameras = [c // 10 for c in chosen]
    assert all(a != b for a, b in pairwise(cameras)) and sorted(Counter(cameras).values()) == [2, 3]
    assert set(chosen) == {10, 11, 20}  # every tracklet used; the lone one on camera 2 is repeated


def test_windows_are_contiguous_and_short_tracklets_are_cycled() -> None:
    rng = np.random.default_rng(0)
    long_one = window(TrackletRecord(Frames(20), 0, 0), 8, rng)
    assert long_one == list(range(long_one[0], long_one[0] + 8)) and 0 <= long_one[0] <= 12
    assert window(TrackletRecord(Frames(3), 0, 0), 7, rng) == [0, 1, 2, 0, 1, 2, 0]
