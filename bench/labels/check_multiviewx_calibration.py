"""Does MultiviewX's calibration fit its images? Where people stand, seen by two cameras at once.

The shipped detector finds people in every camera's 10 frames (boxes as ingestion keeps them: score ≥ 0.4,
≥ 48 px tall, a reliable foot point); each foot point goes to the ground through its camera's calibration
(training.ground_labels). For each pair of cameras and frame offset the bench prints the share of camera A's
people that have one of camera B's people within 0.4 m: if the calibrations fit and the cameras are
synchronised, the share peaks at offset 0 (people walk 0.6 m a frame, so one frame off loses most matches).
With --grid OUT_DIR it also draws each camera's ground grid (1 m dots, labels every 5 m) and the detector's
boxes on frame 0, to judge by eye whether the grid lies on the pavement (write it outside the repository).
Run: python bench/labels/check_multiviewx_calibration.py [--grid OUT_DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from detector.params import DetectorParams, TrackletParams
from detector.person_tracker import PersonTracker
from training.ground_labels import Calibration, foot_reliable, multiviewx_calibration

MULTIVIEWX = Path(__file__).resolve().parents[3] / "shared" / "data" / "multiviewx"
CAMERAS, FRAMES, OFFSETS, RADIUS = range(1, 7), range(10), range(-2, 3), 0.4


def calibration(camera: int) -> Calibration:
    return multiviewx_calibration(MULTIVIEWX / "calibrations", camera)


def people(detector: PersonTracker, image: np.ndarray) -> np.ndarray:
    """Boxes (N×4) the way ingestion keeps them, with a reliable foot point."""
    boxes = detector.detect(image)
    keep = TrackletParams()
    xyxy = boxes.xyxy[(boxes.conf >= keep.min_conf) & (boxes.xyxy[:, 3] - boxes.xyxy[:, 1] >= keep.min_height)]
    size = (image.shape[1], image.shape[0])
    reliable = [
        i
        for i, box in enumerate(xyxy)
        if foot_reliable(tuple(box), [tuple(o) for j, o in enumerate(xyxy) if j != i], size)
    ]
    return xyxy[reliable]


def draw_grid(image: np.ndarray, camera: Calibration, boxes: np.ndarray) -> np.ndarray:
    rotation = cv2.Rodrigues(camera.rvec)[0]
    for x in range(26):
        for y in range(17):
            depth = (rotation @ np.array([x, y, 0.0]) + camera.tvec.reshape(3))[2]
            if abs(depth) < 0.5:
                continue
            u, v = camera.to_image(np.array([[x, y]]))[0]
            if 0 <= u < image.shape[1] and 0 <= v < image.shape[0]:
                major = x % 5 == 0 and y % 4 == 0
                cv2.circle(image, (int(u), int(v)), 5, (0, 0, 255) if major else (255, 255, 0), -1)
                if major:
                    cv2.putText(image, f"{x},{y}", (int(u) + 6, int(v)), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2)
    for x1, y1, x2, y2 in boxes.astype(int):
        cv2.rectangle(image, (x1, y1), (x2, y2), (0, 255, 0), 2)
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", type=Path, help="folder for the grid pictures (outside the repository)")
    args = parser.parse_args()
    if not (MULTIVIEWX / "calibrations").is_dir():
        raise SystemExit(f"error: {MULTIVIEWX}: absent (MultiviewX is read from ../shared/data)")
    detector = PersonTracker(DetectorParams(device="cpu"))
    ground: dict[tuple[int, int], np.ndarray] = {}
    for camera in CAMERAS:
        calib = calibration(camera)
        for frame in FRAMES:
            image = cv2.imread(str(MULTIVIEWX / "Image_subsets" / f"C{camera}" / f"{frame:04d}.jpg"))
            boxes = people(detector, image)
            ground[camera, frame] = calib.to_ground(np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]]))
            if args.grid and frame == 0:
                args.grid.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(args.grid / f"grid_C{camera}.png"), draw_grid(image, calib, boxes))
    print(f"share of camera A's people with one of camera B's within {RADIUS} m, B's frame = A's + offset")
    print("A-B  " + "  ".join(f"{offset:+d}".rjust(6) for offset in OFFSETS))
    for a in CAMERAS:
        for b in CAMERAS:
            if b <= a:
                continue
            shares = []
            for offset in OFFSETS:
                near, total = 0, 0
                for frame in FRAMES:
                    if frame + offset not in FRAMES:
                        continue
                    mine, theirs = ground[a, frame], ground[b, frame + offset]
                    total += len(mine)
                    if len(mine) and len(theirs):
                        near += int((np.linalg.norm(mine[:, None] - theirs[None], axis=2).min(axis=1) < RADIUS).sum())
                shares.append(near / max(total, 1))
            print(f"{a}-{b}  " + "  ".join(f"{share:6.2f}" for share in shares))


if __name__ == "__main__":
    main()
