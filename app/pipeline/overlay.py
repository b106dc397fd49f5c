"""RRU update-gate heatmaps drawn over crops: where the model let new appearance in.

The stored map is the channel mean of Z_t on the backbone's h×w grid. Gate values of one
tracklet sit in a narrow band, so each tracklet's maps are stretched to its own min–max
before colouring: the overlay shows where the model trusted a frame more or less, relative
to the rest of that tracklet.
"""

from __future__ import annotations

import cv2
import numpy as np


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """T×h×w gate maps → [0, 1], stretched over the whole tracklet."""
    maps = maps.astype(np.float32)
    low, high = float(maps.min()), float(maps.max())
    if high - low < 1e-6:
        return np.full_like(maps, 0.5)
    return (maps - low) / (high - low)


def colour_map(heat: np.ndarray, width: int, height: int) -> np.ndarray:
    """A [0, 1] map (any size) resized to width×height and coloured with the JET scale (RGB)."""
    resized = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    coloured = cv2.applyColorMap(np.clip(resized * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def colour_scale(width: int, height: int) -> np.ndarray:
    """The colour scale the overlays use, low (left) to high (right), as an RGB bar."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    return colour_map(ramp, width, height)


def overlay_heatmap(crop_rgb: np.ndarray, heat: np.ndarray, opacity: float) -> np.ndarray:
    """Blend a [0, 1] map (any size) over an RGB crop with a JET colour scale."""
    height, width = crop_rgb.shape[:2]
    coloured = colour_map(heat, width, height)
    opacity = float(np.clip(opacity, 0.0, 1.0))
    return cv2.addWeighted(crop_rgb, 1.0 - opacity, coloured, opacity, 0.0)
