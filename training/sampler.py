"""Identity-balanced batches (N identities × K tracklets) and T-frame windows.

Randomness comes from ``numpy.random.default_rng([seed, epoch])``, so an epoch's batches
depend only on the seed and the epoch number: a resumed run draws exactly what the
uninterrupted run would have drawn.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from training.data.records import TrackletRecord, VideoDataset


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch])


def pick_tracklets(indices_by_camera: dict[int, list[int]], k: int, rng: np.random.Generator) -> list[int]:
    """K tracklets of one identity, taking different cameras in turn before repeating one."""
    cameras = [c for c in rng.permutation(sorted(indices_by_camera))]
    pools = {c: list(rng.permutation(indices_by_camera[c])) for c in cameras}
    chosen: list[int] = []
    while len(chosen) < k:
        for camera in cameras:
            if len(chosen) == k:
                break
            if not pools[camera]:
                pools[camera] = list(rng.permutation(indices_by_camera[camera]))  # reuse when exhausted
            chosen.append(int(pools[camera].pop()))
    return chosen


def identity_batches(dataset: VideoDataset, n_ids: int, k: int, seed: int, epoch: int) -> list[list[int]]:
    """One epoch of batches, each a list of indices into ``dataset.train``."""
    rng = epoch_rng(seed, epoch)
    by_id: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, record in enumerate(dataset.train):
        by_id[record.pid][record.camid].append(index)
    ids = sorted(by_id)
    if len(ids) < 2:
        raise ValueError(f"{dataset.name}: at least 2 identities are needed for a ranking loss")
    n_ids = min(n_ids, len(ids))
    batches = []
    if dataset.known_different is None:
        order = rng.permutation(ids)
        for start in range(0, len(order) - n_ids + 1, n_ids):
            batches.append([i for pid in order[start : start + n_ids] for i in pick_tracklets(by_id[pid], k, rng)])
        return batches
    for anchor in rng.permutation(sorted(dataset.known_different)):  # self-supervised: anchor + known negatives
        others = sorted(p for p in dataset.known_different[int(anchor)] if p in by_id)
        if not others:
            continue
        chosen = [int(anchor), *rng.permutation(others)[: n_ids - 1].tolist()]
        batches.append([i for pid in chosen for i in pick_tracklets(by_id[pid], k, rng)])
    return batches


def window(record: TrackletRecord, length: int, rng: np.random.Generator) -> list[int]:
    """A random contiguous window of ``length`` frames; a shorter tracklet is cycled to fill it."""
    count = len(record.frames)
    if count >= length:
        start = int(rng.integers(0, count - length + 1))
        return list(range(start, start + length))
    return [i % count for i in range(length)]
