"""Variable-frame-rate files read with their containers' timestamps (the ingest case is in the table)."""

from __future__ import annotations

import pytest

from detector.video import iter_timed_frames, probe_video
from tests.reliability.cases import _no_pyav, container_times, vfr_video


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_frames_carry_the_container_timestamps_and_a_whole_file_is_not_called_truncated(suffix, tmp_path) -> None:
    """Matroska declares a frame count estimated from duration × rate (more frames than a VFR file
    has): the file played to its duration is whole, and each frame's time is the container's."""
    reason = _no_pyav()
    if reason:
        pytest.skip(reason)
    path = vfr_video(tmp_path, suffix)
    info = probe_video(path)
    read = [(index, seconds) for index, _, seconds in iter_timed_frames(info)]
    expected = container_times(path)
    assert [index for index, _ in read] == list(range(len(expected)))
    assert [round(seconds, 3) for _, seconds in read] == [round(t - expected[0], 3) for t in expected]
    assert max(abs(index / info.fps - seconds) for index, seconds in read) > 0.2  # frame / fps would be wrong
