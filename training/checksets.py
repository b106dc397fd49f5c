"""Labelled multi-camera check sets and the cross-camera score every model is judged by.

A check set is a list of tracklets (camera, person, RGB crops at 256×128). The score asks,
for every tracklet, the question the app answers: rank the tracklets of the *other* cameras
(its own camera is left out, as in the app's default query); rank-1 and mAP over the queries
that have a true match there. How each set is made is written beside its builder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from reid_core.crops import decode_crops
from training.evaluation import evaluate

CROP_SIZE = (256, 128)  # (height, width), as ingestion stores crops


@dataclass
class LabelledTracklet:
    camera: str
    person: int
    crops: list[np.ndarray]  # RGB uint8, CROP_SIZE
    tracklet_id: int | None = None  # its row in the workspace it came from, if any


@dataclass
class CheckScore:
    rank1: float
    mean_ap: float
    queries: int
    query_aps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per query, cameras in sorted order


def cut_crop(image_rgb: np.ndarray, box: Sequence[float]) -> np.ndarray:
    x1, y1, x2, y2 = (round(v) for v in box)
    patch = image_rgb[y1:y2, x1:x2]
    return cv2.resize(patch, (CROP_SIZE[1], CROP_SIZE[0]), interpolation=cv2.INTER_AREA)


def multiviewx_set(root: Path, min_height: int = 64, min_inside: float = 0.8) -> list[LabelledTracklet]:
    """MultiviewX: 6 synchronised synthetic cameras, 10 frames, people labelled across views.

    Made from the dataset's own labels only (no detector): annotation file ``000{k+1}.json``
    belongs to image ``000k.jpg``; a person's boxes in one camera over the 10 frames form one
    tracklet. Boxes are clipped to the image; a box less than ``min_inside`` inside the image
    or lower than ``min_height`` pixels after clipping is left out; tracklets need two crops.
    """
    frames = sorted((root / "annotations_positions").glob("*.json"))
    if not frames:
        raise FileNotFoundError(f"{root}: no annotations_positions/*.json (not a MultiviewX folder)")
    crops: dict[tuple[int, int], list[np.ndarray]] = {}
    for annotation in frames:
        index = int(annotation.stem) - 1
        images: dict[int, np.ndarray] = {}
        for person in json.loads(annotation.read_text()):
            for view in person["views"]:
                if view["xmin"] == -1:
                    continue
                camera = int(view["viewNum"])
                if camera not in images:
                    bgr = cv2.imread(str(root / "Image_subsets" / f"C{camera + 1}" / f"{index:04d}.jpg"))
                    if bgr is None:
                        raise FileNotFoundError(f"{root}: missing image C{camera + 1}/{index:04d}.jpg")
                    images[camera] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                height, width = images[camera].shape[:2]
                box = (view["xmin"], view["ymin"], view["xmax"], view["ymax"])
                clipped = (max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height))
                area = max(box[2] - box[0], 1) * max(box[3] - box[1], 1)
                inside = max(clipped[2] - clipped[0], 0) * max(clipped[3] - clipped[1], 0) / area
                if inside < min_inside or clipped[3] - clipped[1] < min_height or clipped[2] - clipped[0] < 8:
                    continue
                crops.setdefault((camera, int(person["personID"])), []).append(cut_crop(images[camera], clipped))
    return [
        LabelledTracklet(f"C{camera + 1}", person, images)
        for (camera, person), images in sorted(crops.items())
        if len(images) >= 2
    ]


def workspace_set(folder: Path, labels_file: Path) -> list[LabelledTracklet]:
    """Tracklets of an ingested workspace labelled by hand (a JSON file, see ``bench/labels``).

    The file lists ``{"camera", "start_frame", "end_frame", "person"}`` per tracklet (and ``"track_id"``,
    the tracker's id, where tracklets of one camera share their frames), as stored by ingestion with the
    settings the file names; tracklets it does not list are left out.
    """
    from reid_core.workspace import Workspace

    entries = json.loads(labels_file.read_text())["tracklets"]
    wanted = {
        (e["camera"], int(e["start_frame"]), int(e["end_frame"]), e.get("track_id")): int(e["person"]) for e in entries
    }
    found: list[LabelledTracklet] = []
    with Workspace(folder, create=False) as workspace:
        for row in workspace.tracklets():
            span = (row.camera, row.start_frame, row.end_frame)
            person = wanted.pop((*span, row.track_id), None)  # where tracklets share a span, the tracker's id tells
            if person is None:
                person = wanted.pop((*span, None), None)
            if person is None:
                continue
            found.append(LabelledTracklet(row.camera, person, decode_crops(workspace.crops(row.id)), row.id))
    if wanted:
        missing = ", ".join(f"{c}:{s}-{e}" for c, s, e, _ in list(wanted)[:3])
        raise ValueError(f"{labels_file}: {len(wanted)} labelled tracklets are not in {folder} ({missing} …)")
    return found


def people_in_several_cameras(tracklets: Sequence[LabelledTracklet]) -> list[int]:
    """The labelled people seen by more than one camera, in label order."""
    cameras: dict[int, set[str]] = {}
    for t in tracklets:
        cameras.setdefault(t.person, set()).add(t.camera)
    return sorted(person for person, seen in cameras.items() if len(seen) > 1)


def thinned(tracklets: list[LabelledTracklet], crops: int) -> list[LabelledTracklet]:
    """The same tracklets with at most ``crops`` crops each, evenly spread (every model sees the same ones)."""
    out = []
    for t in tracklets:
        keep = np.linspace(0, len(t.crops) - 1, min(crops, len(t.crops))).round().astype(int)
        out.append(LabelledTracklet(t.camera, t.person, [t.crops[i] for i in keep]))
    return out


def at_resolution(tracklets: list[LabelledTracklet], height: int) -> list[LabelledTracklet]:
    """The same tracklets as a camera of lower resolution would give them: each crop shrunk to ``height``
    pixels high (half as wide) and back to ``CROP_SIZE``, as ingestion stores a small person's crop."""
    size = (max(1, height // 2), height)

    def blurred(crop: np.ndarray) -> np.ndarray:
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (CROP_SIZE[1], CROP_SIZE[0]), interpolation=cv2.INTER_LINEAR)

    return [LabelledTracklet(t.camera, t.person, [blurred(c) for c in t.crops], t.tracklet_id) for t in tracklets]


def cross_camera_score(
    features: np.ndarray, tracklets: Sequence[LabelledTracklet], asking: Sequence[bool] | None = None
) -> CheckScore:
    """Rank-1 and mAP (official AP) with each camera's tracklets querying all other cameras.

    ``asking``: which tracklets query (default: all); every tracklet stays in the galleries."""
    persons = np.array([t.person for t in tracklets])
    cameras = np.array([t.camera for t in tracklets])
    asks = np.ones(len(tracklets), dtype=bool) if asking is None else np.asarray(asking, dtype=bool)
    rank1, queries, query_aps = 0.0, 0, []
    for camera in sorted(set(cameras.tolist())):
        query, gallery = (cameras == camera) & asks, cameras != camera
        if not any(p in set(persons[gallery].tolist()) for p in persons[query]):
            continue
        result = evaluate(
            features[query],
            persons[query],
            np.zeros(int(query.sum()), dtype=int),
            features[gallery],
            persons[gallery],
            np.ones(int(gallery.sum()), dtype=int),
        )
        rank1 += result.per_rank[1] * result.queries
        queries += result.queries
        query_aps.append(result.query_aps)
    if queries == 0:
        raise ValueError("no tracklet has a match in another camera")
    every_ap = np.concatenate(query_aps)
    return CheckScore(rank1=rank1 / queries, mean_ap=float(every_ap.mean()), queries=queries, query_aps=every_ap)


TrackletEmbedder = Callable[[list[np.ndarray]], np.ndarray]


def score_embedder(embed: TrackletEmbedder, tracklets: Sequence[LabelledTracklet]) -> CheckScore:
    features = np.stack([embed(t.crops) for t in tracklets])
    return cross_camera_score(features, tracklets)


def checkpoint_embedder(checkpoint: Path, device: str = "cpu") -> TrackletEmbedder:
    """f of a tracklet from a re-ID checkpoint, through the same embedder the app uses."""
    from reid_core.checkpoint import load_model
    from reid_core.embedder import Embedder

    embedder = Embedder.from_model(load_model(checkpoint).eval(), device=device)
    return lambda crops: embedder.embed(crops).unit_feature
