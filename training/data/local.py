"""Local data: a folder per identity, the operator's confirmed identities, and unlabeled tracks."""

from __future__ import annotations

from pathlib import Path

from reid_core.store.location import is_database_url
from reid_core.workspace import Workspace
from training.data.records import (
    DatasetLayoutError,
    ImageFiles,
    TrackletRecord,
    VideoDataset,
    WorkspaceCrops,
    image_files,
    require_dir,
)


def read_identity_folders(root: str | Path) -> VideoDataset:
    """``ID/CAMERA/TRACKLET/*.jpg`` (or .png): every tracklet folder is one training tracklet."""
    root = require_dir(Path(root), "identity folders")
    ids = sorted(p for p in root.iterdir() if p.is_dir())
    if not ids:
        raise DatasetLayoutError(f"{root}: no identity folders (expected ID/CAMERA/TRACKLET/*.jpg)")
    cameras: dict[str, int] = {}
    train = []
    for pid, person in enumerate(ids):
        camera_dirs = sorted(p for p in person.iterdir() if p.is_dir())
        if not camera_dirs:
            raise DatasetLayoutError(f"{person}: no camera folders (expected {person.name}/CAMERA/TRACKLET/*.jpg)")
        for camera in camera_dirs:
            camid = cameras.setdefault(camera.name, len(cameras))
            for tracklet in sorted(p for p in camera.iterdir() if p.is_dir()):
                frames = image_files(tracklet)
                if frames:
                    train.append(TrackletRecord(ImageFiles(frames), pid, camid))
    if not train:
        raise DatasetLayoutError(f"{root}: no images in any ID/CAMERA/TRACKLET folder")
    return VideoDataset(f"folders:{root.name}", train)


def _crops_source(workspace: Workspace, tracklet_id: int) -> WorkspaceCrops:
    database = workspace.location if is_database_url(workspace.location) else workspace.path  # SQLite: its file
    return WorkspaceCrops(str(database), tracklet_id, workspace.crop_frames(tracklet_id))


def read_workspace_identities(workspace: Workspace) -> VideoDataset:
    """Identities the operator confirmed: each identity's tracklets are one training id."""
    rows = workspace.identity_memberships()
    ids = sorted({r[0] for r in rows})
    if len(ids) < 2:
        raise DatasetLayoutError(f"{workspace.path}: needs at least 2 confirmed identities to train, has {len(ids)}")
    pid = {identity: i for i, identity in enumerate(ids)}
    train = [TrackletRecord(_crops_source(workspace, t), pid[i], c) for i, t, c in rows]
    return VideoDataset(f"workspace:{workspace.folder.name}", train)


def read_workspace_tracks(workspace: Workspace, min_overlap_tracks: int = 2) -> VideoDataset:
    """Self-supervision without labels.

    Tracklets cut from one track are the same person (one pseudo id per track); tracks that
    overlap in time in one video are different people, so they form a group that can share
    a batch as negatives. Groups with fewer than ``min_overlap_tracks`` tracks are left out.
    """
    rows = workspace.track_spans()
    tracks: dict[tuple[int, int], list[tuple]] = {}
    for row in rows:
        tracks.setdefault((row[1], row[3]), []).append(row)
    spans = {key: (min(r[4] for r in v), max(r[5] for r in v), v[0][1]) for key, v in tracks.items()}
    pid = {key: i for i, key in enumerate(sorted(tracks))}
    different: dict[int, set[int]] = {}
    for key, (start, end, video) in spans.items():
        others = {pid[k] for k, (s, e, v) in spans.items() if v == video and k != key and s <= end and e >= start}
        if len(others) + 1 >= min_overlap_tracks:
            different[pid[key]] = others
    train = [
        TrackletRecord(_crops_source(workspace, row[0]), pid[key], row[2])
        for key, members in tracks.items()
        if pid[key] in different
        for row in members
    ]
    if not train:
        raise DatasetLayoutError(f"{workspace.path}: no two tracks overlap in time; nothing to learn from")
    return VideoDataset(f"self-supervised:{workspace.folder.name}", train, known_different=different)
