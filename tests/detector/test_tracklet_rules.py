"""TrackletBuilder's rules on synthetic frames and boxes (fast: no detector, no video)."""

from __future__ import annotations

import numpy as np

from detector.person_tracker import TrackedBox
from detector.tracklets import TrackletBuilder, TrackletParams, even_sample

FRAME = np.full((240, 320, 3), 128, dtype=np.uint8)
PERSON = (100.0, 40.0, 140.0, 200.0)  # 40×160 px


def run(params: TrackletParams, frames: dict[int, list[TrackedBox]], last: int) -> list:
    builder = TrackletBuilder(params)
    for index in range(0, last + 1, params.frame_stride):
        builder.add_frame(index, FRAME, frames.get(index, []))
    return builder.finish()


def seen(track_id: int, indices, score: float = 0.9, box=PERSON) -> dict[int, list[TrackedBox]]:
    return {i: [TrackedBox(track_id, box, score)] for i in indices}


def test_a_gap_longer_than_max_gap_splits_the_track_and_a_shorter_one_does_not() -> None:
    params = TrackletParams(min_length=3, max_gap=4)
    short_gap = run(params, seen(1, [*range(0, 10), *range(14, 20)]), 25)  # 4 missing frames: one tracklet
    assert [(t.start_frame, t.end_frame, len(t.frames)) for t in short_gap] == [(0, 19, 16)]
    long_gap = run(params, seen(1, [*range(0, 10), *range(16, 26)]), 40)  # 6 missing frames: split
    assert [(t.start_frame, t.end_frame) for t in long_gap] == [(0, 9), (16, 25)]


def test_the_gap_counts_processed_frames_under_a_stride() -> None:
    params = TrackletParams(min_length=3, max_gap=2, frame_stride=3)
    # seen at 0..27 and again at 36: 2 processed frames (30, 33) missing → same tracklet
    tracklets = run(params, seen(1, [*range(0, 30, 3), 36, 39, 42]), 50)
    assert [(t.start_frame, t.end_frame) for t in tracklets] == [(0, 42)]


def test_short_tracklets_are_dropped_and_the_rest_are_ordered_by_start() -> None:
    params = TrackletParams(min_length=5)
    frames: dict[int, list[TrackedBox]] = {}
    for track_id, indices in [(7, range(10, 20)), (3, range(0, 4)), (5, range(2, 12))]:
        for i in indices:
            frames.setdefault(i, []).append(TrackedBox(track_id, PERSON, 0.9))
    assert [(t.track_id, t.start_frame) for t in run(params, frames, 30)] == [(5, 2), (7, 10)]


def test_low_scores_small_people_and_boxes_outside_the_frame_are_not_kept() -> None:
    params = TrackletParams(min_length=1, min_conf=0.5, min_height=48)
    frames = {
        0: [TrackedBox(1, PERSON, 0.3)],  # low score
        1: [TrackedBox(2, (10.0, 10.0, 30.0, 40.0), 0.9)],  # 30 px tall
        2: [TrackedBox(3, (400.0, 10.0, 500.0, 200.0), 0.9)],  # right of a 320-px frame: clipped to nothing
        3: [TrackedBox(4, (-20.0, 30.0, 30.0, 230.0), 0.9)],  # partly outside: clipped, kept
    }
    [kept] = run(params, frames, 5)
    assert kept.track_id == 4 and kept.boxes == [(0.0, 30.0, 30.0, 230.0)]


def test_crops_are_capped_evenly_and_every_box_is_kept() -> None:
    params = TrackletParams(min_length=3, max_crops=4)
    [tracklet] = run(params, seen(1, range(0, 30)), 30)
    assert len(tracklet.frames) == len(tracklet.boxes) == 30
    assert sorted(tracklet.crops) == [0, 10, 19, 29] == even_sample(list(range(30)), 4)
    first = np.frombuffer(tracklet.crops[0], np.uint8)
    assert first[:2].tolist() == [0xFF, 0xD8]  # JPEG
    assert len(run(TrackletParams(min_length=3, max_crops=0), seen(1, range(0, 30)), 30)[0].crops) == 30


def test_open_tracklets_can_be_stored_mid_video_without_changing_the_builder() -> None:
    params = TrackletParams(min_length=3, max_gap=2)
    builder = TrackletBuilder(params)
    for i in range(10):
        builder.add_frame(i, FRAME, [TrackedBox(1, PERSON, 0.9)] if i < 4 else [TrackedBox(2, PERSON, 0.9)])
    assert [t.track_id for t in builder.take_finished()] == [1]  # closed after its gap
    assert builder.take_finished() == []  # taken once
    [open_now] = builder.open_as_closed()
    assert (open_now.track_id, open_now.start_frame, open_now.end_frame) == (2, 4, 9)
    assert list(builder.open) == [2] and len(builder.open[2].frames) == 6  # still open, unchanged
