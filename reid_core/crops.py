"""Stored person crops (JPEG bytes, written by ingestion) back to RGB images: one decoder for all readers."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np


def decode_crop(jpeg: bytes) -> np.ndarray:
    """One stored JPEG crop → an RGB uint8 array (H×W×3)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("a stored crop is not a readable JPEG")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def decode_crops(crops: Iterable[tuple[int, bytes]]) -> list[np.ndarray]:
    """(frame, JPEG) pairs as the store returns them → RGB arrays in the same order."""
    return [decode_crop(jpeg) for _, jpeg in crops]
