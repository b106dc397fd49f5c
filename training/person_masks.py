"""Where the person is inside each stored crop: foreground masks from the static cameras.

The cameras do not move, so a video's per-pixel median over frames spread through it is its
background; what differs from it in a frame is foreground. A crop's mask is the foreground
inside its detector box, averaged down to the backbone's map grid (8×4 cells for 256×128
crops): the fraction of each cell that moved. A crop whose box is almost empty (the person
stands still and became background) or almost full (a crowd, a light change) gets no mask.
Used as the target of the distillation's gate loss (``training.distill``) and by
``bench/bench_heatmaps.py`` to measure the gates on held-out footage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reid_core.workspace import Workspace

GRID = (8, 4)  # (rows, columns) of the student's maps for a 256×128 crop
BACKGROUND_SAMPLES = 60  # frames spread over the video for its median
DIFFERENCE = 30  # grey levels (any colour channel) that make a pixel foreground
RELIABLE = (0.15, 0.85)  # usable crops have this share of their box in the foreground


@dataclass(frozen=True)
class CropMasks:
    """Per crop of a tracklet, in crop-frame order: the mask grid and whether to trust it."""

    masks: np.ndarray  # N × rows × cols float32 in [0, 1]
    reliable: np.ndarray  # N bool


def median_background(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Per-pixel median of the frames (BGR uint8): what stays when moving people are removed."""
    return np.median(np.stack(list(frames)), axis=0).astype(np.uint8)


def foreground(frame: np.ndarray, background: np.ndarray, difference: int = DIFFERENCE) -> np.ndarray:
    """Pixels that differ from the background in any channel, cleaned of specks and holes (H×W bool)."""
    moved = (cv2.absdiff(frame, background).max(axis=2) > difference).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    moved = cv2.morphologyEx(moved, cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(moved, cv2.MORPH_CLOSE, kernel).astype(bool)


def box_mask(moved: np.ndarray, box: tuple[float, float, float, float], grid: tuple[int, int] = GRID) -> np.ndarray:
    """The foreground inside a box (cut the way ingestion cuts its crop) as a rows×cols cell fraction."""
    x1, y1, x2, y2 = (round(v) for v in box)
    patch = moved[max(y1, 0) : max(y2, 1), max(x1, 0) : max(x2, 1)].astype(np.float32)
    if patch.size == 0:
        return np.zeros(grid, np.float32)
    return cv2.resize(patch, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)


def is_reliable(mask: np.ndarray, bounds: tuple[float, float] = RELIABLE) -> bool:
    return bounds[0] <= float(mask.mean()) <= bounds[1]


def frames(path: Path, stride: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(index, BGR frame) of every ``stride``-th frame of a stored video (ingestion already checked it)."""
    capture = cv2.VideoCapture(str(path))
    try:
        index = 0
        while capture.grab():
            if index % stride == 0:
                ok, frame = capture.retrieve()
                if ok:
                    yield index, frame
            index += 1
    finally:
        capture.release()


def video_background(path: Path, samples: int = BACKGROUND_SAMPLES) -> np.ndarray:
    return median_background(frame for _, frame in frames(path, stride=max(1, frame_count(path) // samples)))


def frame_count(path: Path) -> int:
    """The declared length, or the frames counted when the file declares none (a raw .264 stream)."""
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if count <= 1:
        count = 0
        while capture.grab():
            count += 1
    capture.release()
    return count


def video_masks(
    path: Path, boxes: dict[int, list[tuple[object, tuple[float, float, float, float]]]], grid: tuple[int, int] = GRID
) -> dict[object, np.ndarray]:
    """Masks for the boxes of one video: ``boxes`` maps frame → [(key, box)], the result key → grid."""
    background = video_background(path)
    found: dict[object, np.ndarray] = {}
    last = max(boxes, default=-1)
    for index, frame in frames(path):
        if index in boxes:
            moved = foreground(frame, background)
            for key, box in boxes[index]:
                found[key] = box_mask(moved, box, grid)
        if index >= last:
            break
    return found


def workspace_masks(folder: Path, tracklet_ids: Iterable[int], grid: tuple[int, int] = GRID) -> dict[int, CropMasks]:
    """Per tracklet, the masks of its stored crops (in ``crop_frames`` order), from its video's background."""
    wanted = set(tracklet_ids)
    by_video: dict[int, dict[int, list]] = {}
    order: dict[int, tuple[int, ...]] = {}
    with Workspace(folder, create=False) as workspace:
        paths = {video["id"]: Path(video["path"]) for video in workspace.videos()}
        for row in workspace.tracklets():
            if row.id not in wanted:
                continue
            order[row.id] = workspace.crop_frames(row.id)
            kept = set(order[row.id])
            frames = by_video.setdefault(row.video_id, {})
            for box in workspace.boxes(row.id):
                if box["frame"] in kept:
                    coords = (box["x1"], box["y1"], box["x2"], box["y2"])
                    frames.setdefault(box["frame"], []).append(((row.id, box["frame"]), coords))
    found: dict[object, np.ndarray] = {}
    for video_id, boxes in by_video.items():
        found.update(video_masks(paths[video_id], boxes, grid))
    result = {}
    for tracklet_id, frames in order.items():
        masks = np.stack([found.get((tracklet_id, f), np.zeros(grid, np.float32)) for f in frames])
        result[tracklet_id] = CropMasks(masks, np.array([is_reliable(m) for m in masks]))
    return result


def contact_sheet(crops: list[np.ndarray], masks: np.ndarray, reliable: np.ndarray) -> np.ndarray:
    """Each crop (RGB) beside its mask (white = person), a dropped one framed in red: to check by eye."""
    tiles = []
    for crop, mask, ok in zip(crops, masks, reliable, strict=True):
        up = cv2.resize(mask, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
        grey = np.repeat((255 * up).astype(np.uint8)[..., None], 3, axis=2)
        tile = np.hstack([crop, grey])
        if not ok:
            cv2.rectangle(tile, (0, 0), (tile.shape[1] - 1, tile.shape[0] - 1), (255, 0, 0), 6)
        tiles.append(np.pad(tile, ((0, 0), (0, 8), (0, 0)), constant_values=255))
    return np.hstack(tiles)
