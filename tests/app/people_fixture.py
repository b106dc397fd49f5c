"""Workspaces for the people tests, built through the store API.

``vtest_halves_workspace``: the labelled check set vtest_halves (vtest.avi cut into a left and a
right camera) as the default model sees it: its real vectors, times and labels and two real crops
per tracklet, saved by ``python bench/bench_people.py --write-fixture tests/app/data/vtest_halves_people.npz``
(so no test has to ingest and embed footage for it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reid_core.store.vector_index import sync_index
from reid_core.workspace import Workspace

FIXTURE = Path(__file__).resolve().parent / "data" / "vtest_halves_people.npz"


def vtest_halves_workspace(folder: Path) -> dict[int, int]:
    """Build the workspace in ``folder``; returns {tracklet id: labelled person} (-1: not labelled)."""
    data = np.load(FIXTURE, allow_pickle=False)
    model_id = str(data["model_id"])
    jpegs, offsets = data["jpegs"].tobytes(), data["offsets"]
    people: dict[int, int] = {}
    with Workspace(folder) as ws, ws.transaction():
        ws.register_model(model_id, "default (fixture)", "fixture", "omz_reid_0287", data["vectors"].shape[1], {})
        videos = {}
        for name in sorted(set(data["cameras"].tolist())):
            camera = ws.camera_id(name)
            video = {"camera_id": camera, "path": f"fixture://{name}", "content_hash": f"fixture-{name}", "fps": 10.0}
            video |= {"frame_count": 795, "width": 384, "height": 576, "start_time": 0.0, "frames_processed": 795}
            videos[name] = (ws.add_video(video | {"params": "{}", "added_at": 0.0}), camera)
        for row, name in enumerate(data["cameras"].tolist()):
            video_id, camera_id = videos[name]
            tracklet = {"video_id": video_id, "camera_id": camera_id, "track_id": row + 1}
            tracklet |= {"start_frame": int(data["start_frames"][row]), "end_frame": int(data["end_frames"][row])}
            tracklet |= {"start_time": float(data["starts"][row]), "end_time": float(data["ends"][row])}
            tracklet |= {"length": int(data["lengths"][row])}
            crops = [
                (tracklet["start_frame"] + k, jpegs[offsets[2 * row + k] : offsets[2 * row + k + 1]]) for k in (0, 1)
            ]
            tracklet_id = ws.add_tracklet(tracklet, [], crops)
            ws.save_embeddings(model_id, [tracklet_id], data["vectors"][row : row + 1])
            people[tracklet_id] = int(data["person"][row])
        ws.set_meta("active_model", model_id)
    with Workspace(folder) as ws:
        sync_index(ws, model_id)
    return people
