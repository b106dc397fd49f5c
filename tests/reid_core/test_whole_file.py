"""Files written whole or not at all: the temporary file, its name, and what a failure leaves."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.check_footage import frames_video
from reid_core.whole_file import written_whole


def test_the_target_appears_only_when_the_write_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.pt"
    with written_whole(target) as partial:
        assert partial.name == "model.pt.tmp"
        partial.write_bytes(b"whole")
        assert not target.exists()
    assert target.read_bytes() == b"whole" and list(target.parent.iterdir()) == [target]


def test_a_failed_write_leaves_neither_the_target_nor_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "clip.avi"
    with pytest.raises(RuntimeError), written_whole(target, keep_suffix=True) as partial:
        assert partial.name == "clip.tmp.avi"  # writers that pick the format by the suffix still can
        partial.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_frames_become_one_clip_with_nothing_else_left_beside_it(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:04d}.jpg"), np.full((48, 64, 3), 80 * i, np.uint8))
    clip = frames_video(frames, tmp_path / "out" / "cam.avi", fps=2.0)
    capture = cv2.VideoCapture(str(clip))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == 3 and sorted(p.name for p in clip.parent.iterdir()) == ["cam.avi"]
