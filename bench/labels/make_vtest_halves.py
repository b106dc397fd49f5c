"""Make bench/labels/vtest_halves.json: who is who in vtest.avi cut into a left and a right camera.

How: vtest.avi (one real plaza camera, 768×576) is cut into two cameras, the left and the right
half (no overlap), and each half is ingested as its own camera with the shipped defaults at
frame stride 2. The
full frame is ingested too; a person's full-frame track is their label. Each half-camera
tracklet takes the label of the full-frame track whose boxes (shifted into full-frame
coordinates) overlap it best: mean IoU ≥ 0.5 over ≥ 60 % of its frames. Tracklets without such
a track are left out. The result was then checked by eye on a contact sheet
(bench/contact_sheet.py): every person seen in both halves was compared crop by crop.
Run: python bench/labels/make_vtest_halves.py WORK_DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from app.pipeline.check_footage import labelled_workspace
from app.pipeline.ingest import ingest_videos
from reid_core.workspace import Workspace

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

LABELS = Path(__file__).resolve().parent / "vtest_halves.json"
SPEC = {
    "how": __doc__.split("How: ", 1)[1].split("\nRun:", 1)[0].replace("\n", " "),
    "videos": [
        {"path": "video/vtest.avi", "half": "left", "camera": "plaza-left", "stride": 2},
        {"path": "video/vtest.avi", "half": "right", "camera": "plaza-right", "stride": 2},
    ],
}


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2, y2 = np.minimum(a[:, 2], b[:, 2]), np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def boxes_by_tracklet(workspace: Workspace, camera: str, shift: float) -> dict[int, dict[int, np.ndarray]]:
    out = {}
    for row in workspace.tracklets():
        if row.camera == camera:
            out[row.id] = {
                int(b["frame"]): np.array([b["x1"] + shift, b["y1"], b["x2"] + shift, b["y2"]])
                for b in workspace.boxes(row.id)
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", type=Path)
    args = parser.parse_args()
    LABELS.write_text(json.dumps(SPEC | {"tracklets": []}, indent=1))
    halves = labelled_workspace(LABELS, args.work, SHARED)
    full_folder = args.work / "vtest_full"
    with Workspace(full_folder) as full:
        if not full.tracklets():
            ingest_videos(full, [SHARED / "video" / "vtest.avi"], camera="plaza")
        tracks = boxes_by_tracklet(full, "plaza", 0.0)
    labels = []
    with Workspace(halves, create=False) as workspace:
        width = 384.0
        for camera, shift in (("plaza-left", 0.0), ("plaza-right", width)):
            rows = {r.id: r for r in workspace.tracklets()}
            for tracklet_id, boxes in boxes_by_tracklet(workspace, camera, shift).items():
                best, best_score = None, 0.0
                for track_id, track in tracks.items():
                    common = sorted(set(boxes) & set(track))
                    if len(common) < 0.6 * len(boxes):
                        continue
                    score = float(
                        iou(np.stack([boxes[f] for f in common]), np.stack([track[f] for f in common])).mean()
                    )
                    if score > best_score:
                        best, best_score = track_id, score
                if best is not None and best_score >= 0.5:
                    row = rows[tracklet_id]
                    labels.append(
                        {"camera": camera, "start_frame": row.start_frame, "end_frame": row.end_frame, "person": best}
                    )
    LABELS.write_text(json.dumps(SPEC | {"tracklets": labels}, indent=1) + "\n")
    both = {p for p in {e["person"] for e in labels} if len({e["camera"] for e in labels if e["person"] == p}) == 2}
    print(f"{len(labels)} labelled tracklets, {len({e['person'] for e in labels})} people, {len(both)} in both halves")


if __name__ == "__main__":
    main()
