"""Open a dataset by kind and path: the one entry point the command line and the app use."""

from __future__ import annotations

from pathlib import Path

from reid_core.workspace import open_workspace
from training.data.benchmarks import read_ilidsvid, read_mars, read_prid2011
from training.data.local import read_identity_folders, read_workspace_identities, read_workspace_tracks
from training.data.records import VideoDataset

BENCHMARKS = ("ilidsvid", "prid2011", "mars")
KINDS = (*BENCHMARKS, "folders", "workspace", "workspace-tracks")
SPLITS = 10  # iLIDS-VID and PRID-2011 are reported as the mean over 10 random splits


def open_dataset(
    kind: str,
    root: str | Path,
    split: int = 0,
    splits_file: Path | None = None,
    prid_convention: str = "paper",
) -> VideoDataset:
    """``workspace`` = the operator's confirmed identities; ``workspace-tracks`` = self-supervision (``root``:
    the workspace folder or its ``postgresql://`` URL)."""
    if kind == "ilidsvid":
        return read_ilidsvid(root, split, splits_file)
    if kind == "prid2011":
        return read_prid2011(root, split, splits_file, prid_convention)
    if kind == "mars":
        return read_mars(root)
    if kind == "folders":
        return read_identity_folders(root)
    if kind in ("workspace", "workspace-tracks"):
        with open_workspace(root, create=False) as workspace:
            reader = read_workspace_identities if kind == "workspace" else read_workspace_tracks
            return reader(workspace)
    raise ValueError(f"unknown dataset kind {kind!r}; one of {', '.join(KINDS)}")


def has_splits(kind: str) -> bool:
    return kind in ("ilidsvid", "prid2011")
