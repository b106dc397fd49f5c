"""Check-set footage: a folder of frames becomes a clip, and a set whose footage is absent says which file."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.check_footage import missing_footage, video_path


def test_a_frame_folder_becomes_a_clip_with_every_frame_in_name_order(tmp_path: Path) -> None:
    frames = tmp_path / "shared" / "scene" / "C1"
    frames.mkdir(parents=True)
    for index in range(5):
        image = np.full((96, 160, 3), 40 * index, np.uint8)
        cv2.imwrite(str(frames / f"{index:04d}.jpg"), image)
    video = {"frames": "scene/C1", "fps": 2.0, "camera": "cam-1"}
    clip = video_path(video, tmp_path, tmp_path / "shared")
    assert clip == tmp_path / "cam-1.avi" and not list(tmp_path.glob("*.part.avi"))
    capture = cv2.VideoCapture(str(clip))
    assert capture.get(cv2.CAP_PROP_FPS) == 2.0 and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    means = []
    while (read := capture.read())[0]:
        means.append(float(read[1].mean()))
    assert np.allclose(means, [0, 40, 80, 120, 160], atol=3)


def test_missing_footage_names_the_first_absent_source(tmp_path: Path) -> None:
    labels = tmp_path / "set.json"
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "a.avi").write_bytes(b"")
    labels.write_text(json.dumps({"videos": [{"path": "video/a.avi"}, {"frames": "scene/C2", "fps": 2}]}))
    assert missing_footage(labels, tmp_path) == tmp_path / "scene" / "C2"
    (tmp_path / "scene" / "C2").mkdir(parents=True)
    assert missing_footage(labels, tmp_path) is None
