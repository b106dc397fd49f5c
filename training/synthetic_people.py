"""Made-up people for distillation: new identities built from the tracklets we may learn from.

The teacher labels any crop it is shown, so the student need not be limited to the ~25 real
people of the training footage: a tracklet whose clothes are recoloured, or whose upper body is
joined to another tracklet's legs, is a person nobody filmed, and the teacher says how near it is
to every other. The student then learns the teacher's answer over many more combinations of
colour and clothing than the footage holds, which is what it meets in a new case. Every frame of
a made-up tracklet gets the same change, so it stays one person across its frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.augment import turn_hue

Unit = tuple[str, list[np.ndarray]]  # (camera label, RGB crops)
MADE_UP = "synthetic/"  # camera label prefix of made-up people


def is_made_up(camera: str) -> bool:
    return camera.startswith(MADE_UP)


def recoloured(crops: list[np.ndarray], hue_shift: int, saturation: float) -> list[np.ndarray]:
    """Every crop with its hue turned by ``hue_shift`` (OpenCV units, 0–179) and saturation scaled."""
    out = []
    for crop in crops:
        hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
        turn_hue(hsv, hue_shift)
        hsv[:, :, 1] = np.clip(hsv[:, :, 1].astype(np.float32) * saturation, 0, 255).astype(np.uint8)
        out.append(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
    return out


def joined(upper: list[np.ndarray], lower: list[np.ndarray], waist: float) -> list[np.ndarray]:
    """Frame by frame, ``upper``'s crop above ``waist`` (share of the height) and ``lower``'s below."""
    out = []
    for top, bottom in zip(upper, lower, strict=False):
        cut = round(top.shape[0] * waist)
        out.append(np.ascontiguousarray(np.concatenate([top[:cut], bottom[cut:]])))
    return out


def made_up_people(units: list[Unit], count: int, rng: np.random.Generator, min_crops: int = 2) -> list[Unit]:
    """``count`` made-up tracklets, alternately one unit recoloured and two units joined at the waist
    (drawn at random; two units of one person joined are still a person the teacher can label), each
    labelled ``synthetic/<kind>``. Joining needs two units of at least ``min_crops`` crops."""
    if count > 1 and sum(len(crops) >= min_crops for _, crops in units) < 2:
        raise ValueError(f"made-up people need two tracklets of at least {min_crops} crops to join")
    made: list[Unit] = []
    while len(made) < count:
        first = units[int(rng.integers(len(units)))][1]
        if len(made) % 2 == 0:
            hue = int(rng.integers(25, 155))
            made.append((f"{MADE_UP}recoloured", recoloured(first, hue, float(rng.uniform(0.6, 1.4)))))
            continue
        second = units[int(rng.integers(len(units)))][1]
        if second is first or min(len(first), len(second)) < min_crops:
            continue
        made.append((f"{MADE_UP}joined", joined(first, second, float(rng.uniform(0.42, 0.55)))))
    return made
