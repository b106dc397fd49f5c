"""Make bench/labels/multiviewx_geo.json: who is who across MultiviewX's cameras, by where they stand.

How: MultiviewX (synthetic, 6 synchronised calibrated cameras, 10 frames of 1920×1080 each, read from
../shared/data/multiviewx; no image is copied into the project) is ingested the way the default's training
footage is (resources/make_default_checkpoint.sh): each camera's frames as a 2 fps clip, the shipped detector
and tracker, every crop kept, but tracklets of ≥ 2 boxes (at 2 fps the tracker cuts people into short pieces).
Only cameras C1, C2, C3 and C6: their calibrations fit the images (their detections' ground points coincide
across cameras at the same frame, at no other frame offset), while C4's and C5's do not (the ground grid they
project runs up building walls; none of their people lands within 0.4 m of anyone seen by another camera, at
any frame offset). The published boxes are not used (they do not fit these images). Each tracklet's foot
points (box bottom centre) go to the ground plane through the camera's calibration (undistort, inverse of the
z = 0 homography K [r1 r2 t]; metres). A frame's foot point is left out when the box touches the image border
or a box in front of it covers ≥ 30 % of its lowest quarter; a tracklet whose ground points jump faster than
1.5 m per frame (2.5 times the walking speed, leaving room for foot-point noise: the tracker switched people,
or a foot was hidden) is left out. Two tracklets of different cameras are one person when their ground points
are within 0.5 m on more than half of their ≥ 2 common frames, different when farther than 1.5 m there (or,
with < 2 common frames, when no walk of 0.6 m per frame, plus 1.5 m, joins them); identities are the connected
components of "one person". Dropped: a component with two time-overlapping tracklets of one camera or two
"different" members; then, while two tracklets of different identities are neither one person nor different,
the one of the smaller identity. 0.5 m: two people's centres are ≥ 0.32 m apart (MAN_RADIUS 0.16 m) and seen
from opposite sides one person's foot points lie up to a body width apart; the foot point of a distant person
moves ~0.4 m on the ground per 5 % of box height, so between 0.5 and 1.5 m the geometry cannot tell and such
pairs stay unlabelled. 0.6 m per frame is the people's speed (the published positions move 0.58-0.62 m a
frame). The result was checked by eye on a contact sheet (--sheet: one row per identity, one crop per
tracklet).
Run: python bench/labels/make_multiviewx_geo.py WORK_DIR [--sheet OUT.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.check_footage import labelled_workspace
from reid_core.crops import decode_crops
from reid_core.workspace import Workspace
from training.ground_labels import Calibration, GroundTrack, foot_reliable, identities, multiviewx_calibration

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MULTIVIEWX = SHARED / "multiviewx"
LABELS = Path(__file__).resolve().parent / "multiviewx_geo.json"
IMAGE_SIZE = (1920, 1080)
NEAR, FAR, STEP = 0.5, 1.5, 0.6  # metres; see the docstring
CAMERAS = (1, 2, 3, 6)  # the cameras whose calibration fits the images (see the docstring)
SPEC = {
    "how": __doc__.split("How: ", 1)[1].split("\nRun:", 1)[0].replace("\n", " "),
    "videos": [
        {"frames": f"multiviewx/Image_subsets/C{c}", "fps": 2.0, "camera": f"mvx-C{c}", "min_length": 2, "max_crops": 0}
        for c in CAMERAS
    ],
}


def calibration(camera: int) -> Calibration:
    return multiviewx_calibration(MULTIVIEWX / "calibrations", camera)


def ground_tracks(workspace: Workspace) -> list[GroundTrack]:
    """Every tracklet with its reliable foot points on the ground (metres)."""
    tracks = []
    rows = workspace.tracklets()
    boxes = {
        row.id: {int(b["frame"]): (b["x1"], b["y1"], b["x2"], b["y2"]) for b in workspace.boxes(row.id)} for row in rows
    }
    for row in rows:
        calib = calibration(int(row.camera.removeprefix("mvx-C")))
        track = GroundTrack(row.id, row.camera, row.start_frame, row.end_frame)
        for frame, box in boxes[row.id].items():
            others = [
                boxes[other.id][frame]
                for other in rows
                if other.camera == row.camera and other.id != row.id and frame in boxes[other.id]
            ]
            if foot_reliable(box, others, IMAGE_SIZE):
                foot = np.array([[(box[0] + box[2]) / 2, box[3]]])
                track.ground[frame] = calib.to_ground(foot)[0]
        tracks.append(track)
    return tracks


def contact_sheet(workspace: Workspace, person: dict[int, int], out: Path) -> None:
    """One row per identity seen by ≥ 2 cameras: the middle crop of each of its tracklets, camera and frames."""
    rows_by_id = {row.id: row for row in workspace.tracklets()}
    members: dict[int, list[int]] = {}
    for key, identity in sorted(person.items()):
        members.setdefault(identity, []).append(key)
    lines = []
    for identity, keys in sorted(members.items()):
        if len({rows_by_id[k].camera for k in keys}) < 2:
            continue
        tiles = []
        for key in keys:
            crops = decode_crops(workspace.crops(key))
            tile = cv2.cvtColor(cv2.resize(crops[len(crops) // 2], (96, 192)), cv2.COLOR_RGB2BGR)
            row = rows_by_id[key]
            text = f"{row.camera[4:]} {row.start_frame}-{row.end_frame}"
            cv2.putText(tile, text, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 255), 1)
            tiles.append(tile)
        head = np.full((192, 60, 3), 255, np.uint8)
        cv2.putText(head, f"P{identity}", (4, 96), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
        lines.append(np.hstack([head, *tiles]))
    width = max(line.shape[1] for line in lines)
    padded = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    cv2.imwrite(str(out), np.vstack(padded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", type=Path)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the identities here (outside the repo)")
    args = parser.parse_args()
    for video in SPEC["videos"]:
        if not (SHARED / video["frames"]).is_dir():
            raise SystemExit(f"error: {SHARED / video['frames']}: absent (MultiviewX is read from ../shared/data)")
    LABELS.write_text(json.dumps(SPEC | {"tracklets": []}, indent=1))
    folder = labelled_workspace(LABELS, args.work, SHARED)
    with Workspace(folder, create=False) as workspace:
        rows = {row.id: row for row in workspace.tracklets()}
        tracks = ground_tracks(workspace)
    labelling = identities(tracks, NEAR, FAR, STEP)
    labels = [
        {
            "camera": rows[k].camera,
            "start_frame": rows[k].start_frame,
            "end_frame": rows[k].end_frame,
            "track_id": rows[k].track_id,
            "person": p,
        }
        for k, p in sorted(labelling.person.items())
    ]
    LABELS.write_text(json.dumps(SPEC | {"tracklets": labels}, indent=1) + "\n")
    if args.sheet:
        with Workspace(folder, create=False) as workspace:
            contact_sheet(workspace, labelling.person, args.sheet)
    cameras_of: dict[int, set[str]] = {}
    for entry in labels:
        cameras_of.setdefault(entry["person"], set()).add(entry["camera"])
    multi = sum(1 for c in cameras_of.values() if len(c) >= 2)
    print(
        f"{len(rows)} tracklets ingested, {len(labels)} labelled, {len(cameras_of)} people, "
        f"{multi} seen by ≥ 2 cameras; left out: {labelling.dropped}"
    )


if __name__ == "__main__":
    main()
