"""The plain records every reader produces and the trainer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from reid_core.crops import decode_crop
from reid_core.errors import UserError
from reid_core.store.footage import read_crops


class DatasetLayoutError(UserError, ValueError):
    """A dataset folder that does not have the expected layout; the message names what is missing."""


class FrameSource(Protocol):
    def __len__(self) -> int: ...

    def read(self, indices: list[int]) -> list[np.ndarray]:
        """RGB uint8 frames at these positions."""


@dataclass(frozen=True)
class ImageFiles:
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, indices: list[int]) -> list[np.ndarray]:
        frames = []
        for i in indices:
            image = cv2.imread(self.paths[i], cv2.IMREAD_COLOR)
            if image is None:
                raise DatasetLayoutError(f"{self.paths[i]}: unreadable image")
            frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        return frames


@dataclass(frozen=True)
class WorkspaceCrops:
    """Crops of one workspace tracklet, read on demand from its SQLite file or PostgreSQL URL (``database``)."""

    database: str
    tracklet_id: int
    frames: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, indices: list[int]) -> list[np.ndarray]:
        rows = read_crops(self.database, self.tracklet_id)
        return [decode_crop(rows[self.frames[i]]) for i in indices]


@dataclass(frozen=True)
class TrackletRecord:
    frames: FrameSource
    pid: int
    camid: int


@dataclass
class VideoDataset:
    name: str
    train: list[TrackletRecord]
    query: list[TrackletRecord] = field(default_factory=list)
    gallery: list[TrackletRecord] = field(default_factory=list)
    # Self-supervision: for a pseudo id, the pseudo ids known to be other people. When set,
    # batches are built around an anchor and its known negatives only.
    known_different: dict[int, set[int]] | None = None

    @property
    def train_ids(self) -> list[int]:
        return sorted({t.pid for t in self.train})

    def describe(self) -> str:
        return (
            f"{self.name}: train {len(self.train)} tracklets / {len(self.train_ids)} ids, "
            f"query {len(self.query)}, gallery {len(self.gallery)}"
        )


def image_files(folder: Path, patterns: tuple[str, ...] = ("*.png", "*.jpg", "*.jpeg")) -> tuple[str, ...]:
    return tuple(sorted(str(p) for pattern in patterns for p in folder.glob(pattern)))


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(f"{path}: missing folder ({what})")
    return path
