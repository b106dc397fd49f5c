"""iLIDS-VID, PRID-2011 and MARS in their native layouts (each reader's docstring; README "Training")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training.data.records import (
    DatasetLayoutError,
    ImageFiles,
    TrackletRecord,
    VideoDataset,
    image_files,
    require_dir,
)

SPLIT_SEED = 0
NUM_SPLITS = 10


def _find(root: Path, marker: str) -> Path:
    """Accept the dataset folder itself or its parent."""
    root = Path(root)
    return root / marker if (root / marker).is_dir() else root


def _sequences(folder: Path) -> dict[str, tuple[str, ...]]:
    return {p.name: image_files(p) for p in sorted(folder.iterdir()) if p.is_dir()}


def _two_camera_split(
    name: str,
    cams: tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]],
    persons: list[str],
    split: int,
    splits_file: Path | None,
) -> VideoDataset:
    """Probe = camera 1, gallery = camera 2, over the test half of one split."""
    if splits_file is not None:
        splits = json.loads(Path(splits_file).read_text())
        if not isinstance(splits, list) or not all({"train", "test"} <= set(s) for s in splits):
            raise DatasetLayoutError(f"{splits_file}: expected a JSON list of {{'train': [...], 'test': [...]}}")
        chosen = splits[split]
        missing = sorted((set(chosen["train"]) | set(chosen["test"])) - set(persons))
        if missing:
            raise DatasetLayoutError(f"{splits_file}: split {split} names persons not in the dataset: {missing[:5]}")
        train_names, test_names = list(chosen["train"]), list(chosen["test"])
    else:
        order = np.random.default_rng([SPLIT_SEED, split]).permutation(len(persons))
        half = len(persons) // 2
        train_names = [persons[i] for i in sorted(order[:half])]
        test_names = [persons[i] for i in sorted(order[half:])]
    pid = {n: i for i, n in enumerate(sorted(set(train_names) | set(test_names)))}
    train = [TrackletRecord(ImageFiles(cam[n]), pid[n], c) for n in train_names for c, cam in enumerate(cams)]
    query = [TrackletRecord(ImageFiles(cams[0][n]), pid[n], 0) for n in test_names]
    gallery = [TrackletRecord(ImageFiles(cams[1][n]), pid[n], 1) for n in test_names]
    return VideoDataset(f"{name}[split {split}]", train, query, gallery)


def read_ilidsvid(root: str | Path, split: int = 0, splits_file: Path | None = None) -> VideoDataset:
    """``i-LIDS-VID/sequences/cam{1,2}/personNNN/*.png``; 10 random 150/150 splits (or a JSON file)."""
    base = require_dir(_find(Path(root), "i-LIDS-VID") / "sequences", "i-LIDS-VID/sequences")
    cams = tuple(_sequences(require_dir(base / f"cam{c}", f"camera folder cam{c}")) for c in (1, 2))
    persons = sorted(n for n in cams[0] if n in cams[1] and cams[0][n] and cams[1][n])
    if not persons:
        raise DatasetLayoutError(f"{base}: no personNNN folder with images in both cam1 and cam2")
    return _two_camera_split("ilidsvid", cams, persons, split, splits_file)


def read_prid2011(
    root: str | Path, split: int = 0, splits_file: Path | None = None, convention: str = "paper"
) -> VideoDataset:
    """``prid_2011/multi_shot/cam_{a,b}/person_NNNN/*.png``; probe cam_a, gallery cam_b.

    convention "paper": persons 1–200 whose sequences have more than 21 frames in both
    cameras; "178": the torchreid convention (at least 27 frames; or the persons of a JSON
    splits file in torchreid's format, e.g. the official splits_prid2011.json).
    """
    if convention not in ("paper", "178"):
        raise ValueError("convention must be 'paper' or '178'")
    base = require_dir(_find(Path(root), "prid_2011") / "multi_shot", "prid_2011/multi_shot")
    cams = tuple(_sequences(require_dir(base / f"cam_{c}", f"camera folder cam_{c}")) for c in ("a", "b"))
    both = [f"person_{i:04d}" for i in range(1, 201)]
    min_frames = 22 if convention == "paper" else 27
    persons = [n for n in both if len(cams[0].get(n, ())) >= min_frames and len(cams[1].get(n, ())) >= min_frames]
    if convention == "178" and splits_file is not None:
        persons = sorted(n for n in both if n in cams[0] and n in cams[1])
    if not persons:
        raise DatasetLayoutError(f"{base}: no person_NNNN (1–200) with enough frames in both cam_a and cam_b")
    return _two_camera_split(f"prid2011-{convention}", cams, persons, split, splits_file)


def read_mars(root: str | Path) -> VideoDataset:
    """MARS: bbox_{train,test}/PPPP/*.jpg, info/{train,test}_name.txt, tracks_*_info.mat, query_IDX.mat."""
    from scipy.io import loadmat

    root = Path(root)
    info = require_dir(root / "info", "MARS info/ folder")
    needed = ["train_name.txt", "test_name.txt", "tracks_train_info.mat", "tracks_test_info.mat", "query_IDX.mat"]
    missing = [n for n in needed if not (info / n).is_file()]
    if missing:
        raise DatasetLayoutError(f"{info}: missing {', '.join(missing)}")

    def load(key_file: str, key: str) -> np.ndarray:
        data = loadmat(str(info / key_file))
        if key not in data:
            raise DatasetLayoutError(f"{info / key_file}: no '{key}' variable")
        return np.asarray(data[key])

    def tracklets(part: str, names_file: str, rows: np.ndarray) -> list[TrackletRecord]:
        names = (info / names_file).read_text().split()
        folder = require_dir(root / f"bbox_{part}", f"bbox_{part}")
        out = []
        for start, end, pid, cam in rows.astype(int):
            if not 1 <= start <= end <= len(names):
                raise DatasetLayoutError(f"{info / names_file}: rows point past its {len(names)} names")
            paths = tuple(str(folder / n[:4] / n) for n in names[start - 1 : end])
            out.append(TrackletRecord(ImageFiles(paths), int(pid), int(cam)))
        if out and not Path(out[0].frames.paths[0]).is_file():
            raise DatasetLayoutError(f"{out[0].frames.paths[0]}: image listed in {names_file} is missing")
        return out

    train = tracklets("train", "train_name.txt", load("tracks_train_info.mat", "track_train_info"))
    test = tracklets("test", "test_name.txt", load("tracks_test_info.mat", "track_test_info"))
    query_rows = load("query_IDX.mat", "query_IDX").reshape(-1).astype(int) - 1
    query = [test[i] for i in query_rows]
    return VideoDataset("mars", train, query, test)  # official rule: the gallery is all test tracklets
