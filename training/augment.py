"""Photometric and geometric augmentation of person crops (RGB uint8 H×W×3, any size).

Chosen for what differs between cameras of one site: framing of the detector box, scale and
resolution, colour balance, blur, and occluders. Every random choice comes from the generator
passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_resized_crop(crop: np.ndarray, rng: np.random.Generator, min_scale: float = 0.75) -> np.ndarray:
    """A box of 75–100 % of the area with a slightly changed aspect, resized back to the crop's size."""
    height, width = crop.shape[:2]
    scale = rng.uniform(min_scale, 1.0)
    aspect = np.exp(rng.uniform(np.log(0.85), np.log(1.15)))
    new_h = round(min(height, height * np.sqrt(scale * aspect)))
    new_w = round(min(width, width * np.sqrt(scale / aspect)))
    top = int(rng.integers(0, height - new_h + 1))
    left = int(rng.integers(0, width - new_w + 1))
    return cv2.resize(crop[top : top + new_h, left : left + new_w], (width, height), interpolation=cv2.INTER_LINEAR)


def colour_jitter(crop: np.ndarray, rng: np.random.Generator, strength: float = 0.25) -> np.ndarray:
    """Brightness, contrast, saturation and a small hue shift, each drawn independently."""
    image = crop.astype(np.float32)
    image = image * rng.uniform(1 - strength, 1 + strength)  # brightness
    mean = image.mean()
    image = (image - mean) * rng.uniform(1 - strength, 1 + strength) + mean  # contrast
    grey = image.mean(axis=2, keepdims=True)
    image = (image - grey) * rng.uniform(1 - strength, 1 + strength) + grey  # saturation
    image = np.clip(image, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    turn_hue(hsv, int(rng.integers(-6, 7)))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def turn_hue(hsv: np.ndarray, shift: int) -> None:
    """Turn an OpenCV HSV image's hue by ``shift`` (OpenCV units, 0–179, wrapping round), in place."""
    hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int16) + shift) % 180


def low_resolution(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Down to 25–60 % of the size and back up: a distant or low-resolution camera."""
    height, width = crop.shape[:2]
    factor = rng.uniform(0.25, 0.6)
    small = cv2.resize(crop, (max(8, int(width * factor)), max(16, int(height * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def random_erasing(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rectangle of 5–25 % of the area filled with noise: an occluder."""
    height, width = crop.shape[:2]
    area = rng.uniform(0.05, 0.25) * height * width
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.0)))
    h = int(min(height, round(np.sqrt(area * aspect))))
    w = int(min(width, round(np.sqrt(area / aspect))))
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    out = crop.copy()
    out[top : top + h, left : left + w] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return out


def augment(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One strongly augmented version of a crop (each step with its own probability)."""
    out = random_resized_crop(crop, rng)
    if rng.random() < 0.5:
        out = out[:, ::-1].copy()
    if rng.random() < 0.8:
        out = colour_jitter(out, rng)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:
        out = low_resolution(out, rng)
    if rng.random() < 0.5:
        out = random_erasing(out, rng)
    return np.ascontiguousarray(out)
