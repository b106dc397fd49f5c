"""A generated toy dataset in the ID/CAMERA/TRACKLET layout, for smoke tests and benchmarks.

Each identity is a fixed pair of clothing colours with a stripe texture; frames add noise,
jitter, a random occluding block, and each camera renders colour differently (exposure,
swapped channels), so matching across cameras has to be learned.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def identity_look(pid: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng([seed, pid])
    top, bottom = rng.integers(30, 226, 3), rng.integers(30, 226, 3)
    return top, bottom, int(rng.integers(2, 7))


def render_frame(pid: int, camid: int, rng: np.random.Generator, size: tuple[int, int], seed: int) -> np.ndarray:
    height, width = size
    top, bottom, stripe = identity_look(pid, seed)
    image = np.full((height, width, 3), 90, np.float32)
    image[: height // 2] = top
    image[height // 2 :] = bottom
    image[::stripe, :] *= 0.6  # the identity's texture
    image *= 0.8 + 0.25 * camid  # cameras differ in exposure ...
    if camid % 2:
        image = image[:, :, ::-1]  # ... and in colour rendering (red and blue swapped)
    image = np.roll(image, int(rng.integers(-3, 4)), axis=1)
    y, x = int(rng.integers(0, height - height // 4)), int(rng.integers(0, width - width // 3))
    image[y : y + height // 4, x : x + width // 3] = rng.integers(0, 255, 3)  # occlusion
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _write_frames(folder: Path, pid: int, camid: int, frames: int, size: tuple[int, int], seed: int, key: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, pid, camid, key])
    for f in range(frames):
        rgb = render_frame(pid, camid, rng, size, seed)
        cv2.imwrite(str(folder / f"{f:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_identity_folders(
    root: Path,
    ids: range,
    cameras: int = 2,
    tracklets: int = 2,
    frames: int = 8,
    size: tuple[int, int] = (64, 32),
    seed: int = 0,
) -> Path:
    """``ID/CAMERA/TRACKLET/*.png``."""
    for pid in ids:
        for camid in range(cameras):
            for t in range(tracklets):
                _write_frames(root / f"{pid:04d}" / f"cam{camid}" / f"t{t}", pid, camid, frames, size, seed, t)
    return root


def write_ilidsvid(root: Path, persons: int, frames: int = 8, size: tuple[int, int] = (64, 32), seed: int = 0) -> Path:
    """The same generated people in iLIDS-VID's layout: ``i-LIDS-VID/sequences/cam{1,2}/personNNN/*.png``."""
    for pid in range(1, persons + 1):
        for camid in (0, 1):
            folder = root / "i-LIDS-VID" / "sequences" / f"cam{camid + 1}" / f"person{pid:03d}"
            _write_frames(folder, pid, camid, frames, size, seed, 0)
    return root
