"""Dataset readers on tiny folders generated in each benchmark's native layout, and broken ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import loadmat, savemat

from tests.conftest import shared_file
from training.data.benchmarks import read_ilidsvid, read_mars, read_prid2011
from training.data.local import read_identity_folders
from training.data.records import DatasetLayoutError

PIXEL = np.zeros((8, 4, 3), np.uint8)


def images(folder: Path, count: int, ext: str = "png", names: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names or [f"{i:05d}.{ext}" for i in range(count)]):
        cv2.imwrite(str(folder / name), PIXEL + i)


def test_ilidsvid_layout_and_splits(tmp_path: Path) -> None:
    for cam in (1, 2):
        for person in range(1, 11):
            images(tmp_path / "i-LIDS-VID" / "sequences" / f"cam{cam}" / f"person{person:03d}", 3)
    data = read_ilidsvid(tmp_path, split=3)
    assert len(data.query) == len(data.gallery) == 5 and len(data.train) == 10
    assert {r.camid for r in data.query} == {0} and {r.camid for r in data.gallery} == {1}
    assert {r.pid for r in data.train}.isdisjoint({r.pid for r in data.query})
    assert [r.pid for r in read_ilidsvid(tmp_path, split=3).query] == [r.pid for r in data.query]  # reproducible
    shutil.rmtree(tmp_path / "i-LIDS-VID" / "sequences" / "cam2")
    with pytest.raises(DatasetLayoutError, match="cam2"):
        read_ilidsvid(tmp_path)


def test_prid2011_conventions_and_the_real_split_file(tmp_path: Path) -> None:
    splits = json.loads(shared_file("prid2011/splits_prid2011.json").read_text())
    listed = sorted(set(splits[0]["train"]) | set(splits[0]["test"]))
    base = tmp_path / "prid_2011" / "multi_shot"
    for name in listed:
        for cam in ("a", "b"):
            images(base / f"cam_{cam}" / name, 2)  # few frames: only the split file's convention keeps them
    data = read_prid2011(tmp_path, split=0, splits_file=shared_file("prid2011/splits_prid2011.json"), convention="178")
    assert len(data.query) == len(data.gallery) == 89 and len(data.train) == 178
    with pytest.raises(DatasetLayoutError, match="enough frames"):
        read_prid2011(tmp_path, convention="paper")
    for name in listed[:6]:
        for cam in ("a", "b"):
            images(base / f"cam_{cam}" / name, 22)
    paper = read_prid2011(tmp_path, convention="paper")
    assert len(paper.query) == 3 and len(paper.train) == 6
    shutil.rmtree(base / "cam_b")
    with pytest.raises(DatasetLayoutError, match="cam_b"):
        read_prid2011(tmp_path)


def mars_names(rows: np.ndarray) -> list[str]:
    names = []
    for start, end, pid, cam in rows:
        prefix = f"{pid:04d}" if pid >= 0 else "00-1"
        names += [f"{prefix}C{cam}T0001F{f:03d}.jpg" for f in range(1, end - start + 2)]
    return names


def test_mars_reader_follows_the_real_info_rows(tmp_path: Path) -> None:
    real_train = loadmat(str(shared_file("mars_info/tracks_train_info.mat")))["track_train_info"][:3]
    test_rows = np.array([[1, 3, -1, 1], [4, 6, 0, 2], [7, 9, 5, 1], [10, 12, 5, 2], [13, 14, 5, 1]], np.int32)
    info = tmp_path / "info"
    info.mkdir()
    savemat(str(info / "tracks_train_info.mat"), {"track_train_info": real_train.astype(np.int32)})
    savemat(str(info / "tracks_test_info.mat"), {"track_test_info": test_rows})
    savemat(str(info / "query_IDX.mat"), {"query_IDX": np.array([[3, 5]], np.uint16)})
    for part, rows in (("train", real_train), ("test", test_rows)):
        names = mars_names(rows)
        (info / f"{part}_name.txt").write_text("\n".join(names) + "\n")
        for name in names:
            images(tmp_path / f"bbox_{part}" / name[:4], 1, names=[name])
    data = read_mars(tmp_path)
    assert len(data.train) == 3 and [len(r.frames) for r in data.train] == [16, 79, 15]  # the real rows
    assert len(data.gallery) == 5 and [r.pid for r in data.query] == [5, 5]
    assert [r.camid for r in data.query] == [1, 1]
    assert Path(data.query[0].frames.paths[0]).name == "0005C1T0001F001.jpg"
    (info / "query_IDX.mat").unlink()
    with pytest.raises(DatasetLayoutError, match=r"query_IDX\.mat"):
        read_mars(tmp_path)


def test_identity_folders_and_their_broken_forms(tmp_path: Path) -> None:
    for pid in ("anna", "bert"):
        for cam in ("lobby", "street"):
            images(tmp_path / "ok" / pid / cam / "t1", 4, "jpg")
    data = read_identity_folders(tmp_path / "ok")
    assert len(data.train) == 4 and data.train_ids == [0, 1] and {r.camid for r in data.train} == {0, 1}
    (tmp_path / "flat" / "anna").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match="no camera folders"):
        read_identity_folders(tmp_path / "flat")
    with pytest.raises(DatasetLayoutError, match="missing folder"):
        read_identity_folders(tmp_path / "absent")
