"""The vector index: one model's embeddings as memory-mapped arrays beside the SQLite file.

SQLite stays the single source of truth; the index is derived and disposable. Per model, the
folder ``vector_index/<model>/`` holds a ``stamp.json`` and a generation folder of raw column files
(tracklet ids, camera ids, start and end times, float32 vectors). The stamp says how many rows of
those files are valid and which database state they mirror (workspace uid, vectors and rewrites
as counted by the ``vector_stamps`` triggers, last embeddings rowid).

Opening compares the stamp with the database's: equal → map the files; only new vectors since →
append them (rows past the stamp's count are cut off first, so a writer killed mid-append leaves
nothing behind); anything else (a vector changed or removed, another workspace, a missing or
unreadable file) → rebuild into a new generation folder and switch the stamp with one atomic
rename. Readers never see a half-written state, so a kill -9 at any moment cannot give wrong results.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from reid_core.store.vectors_db import ModelStore, VectorRows

try:  # advisory lock between processes updating the same index (the CLI beside the app)
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock; one writer at a time is the caller's job
    fcntl = None

INDEX_DIR = "vector_index"
FORMAT = 1
COLUMNS = {"ids": np.int64, "cameras": np.int32, "starts": np.float64, "ends": np.float64}


@dataclass(frozen=True)
class Stamp:
    format: int
    workspace_uid: str
    model_id: str
    generation: str  # folder holding the column files
    dim: int
    rows: int  # valid rows in every column file
    rewrites: int  # the database's rewrite count the rows mirror
    last_rowid: int  # embeddings rowid of the last row

    def matches(self, uid: str, model_id: str, vectors: int, rewrites: int) -> bool:
        return (self.format, self.workspace_uid, self.model_id, self.rows, self.rewrites) == (
            FORMAT,
            uid,
            model_id,
            vectors,
            rewrites,
        )


@dataclass
class VectorIndex:
    """What a query needs of one model, memory-mapped: row i is tracklet ``ids[i]``."""

    model_id: str
    stamp: Stamp
    ids: np.ndarray
    cameras: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray  # rows × dim float32 (unit vectors)

    def __len__(self) -> int:
        return self.stamp.rows

    def rows_of(self, tracklet_ids: list[int]) -> tuple[np.ndarray, list[int]]:
        """Row of each tracklet id that has one, and the ids that have none."""
        rows, missing = [], []
        for tracklet_id in tracklet_ids:
            found = np.flatnonzero(self.ids == tracklet_id)
            if found.size:
                rows.append(int(found[0]))
            else:
                missing.append(tracklet_id)
        return np.array(rows, dtype=np.int64), missing


def index_folder(workspace: ModelStore, model_id: str) -> Path:
    return workspace.folder / INDEX_DIR / re.sub(r"[^\w.-]", "_", model_id)


def open_index(workspace: ModelStore, model_id: str, current: VectorIndex | None = None) -> VectorIndex:
    """The model's index, brought up to date with the database first; ``current`` is returned as
    it is when it still mirrors the database (one small read to check)."""
    uid = workspace.workspace_uid()
    vectors, rewrites = workspace.vector_stamp(model_id)
    if current is not None and current.stamp.matches(uid, model_id, vectors, rewrites):
        return current
    folder = index_folder(workspace, model_id)
    stamp = _read_stamp(folder)
    try:
        if stamp is None or not stamp.matches(uid, model_id, vectors, rewrites) or not _files_ok(folder, stamp):
            stamp = sync_index(workspace, model_id)
        try:
            return _map(folder, stamp)
        except OSError:  # another process's rebuild removed that generation between our stamp read and now
            return _map(folder, sync_index(workspace, model_id))
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        return _in_memory(workspace, model_id)  # a read-only workspace (evidence on write-protected media)


def _in_memory(workspace: ModelStore, model_id: str) -> VectorIndex:
    """The index built in memory, for a workspace whose folder cannot be written."""
    with workspace.snapshot():
        uid = workspace.workspace_uid()
        vectors, rewrites = workspace.vector_stamp(model_id)
        batches = list(workspace.vector_rows(model_id))
    dim = batches[0].vectors.shape[1] if batches else 0
    last_rowid = int(batches[-1].rowids[-1]) if batches else 0
    stamp = Stamp(FORMAT, uid, model_id, "in-memory", dim, vectors, rewrites, last_rowid)

    def joined(field: str, dtype: type) -> np.ndarray:
        parts = [getattr(b, field).astype(dtype) for b in batches]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    stacked = np.concatenate([b.vectors for b in batches]) if batches else np.zeros((0, dim), np.float32)
    return VectorIndex(
        model_id,
        stamp,
        ids=joined("tracklet_ids", np.int64),
        cameras=joined("camera_ids", np.int32),
        starts=joined("start_times", np.float64),
        ends=joined("end_times", np.float64),
        vectors=stacked.astype(np.float32, copy=False),
    )


def remove_index(workspace: ModelStore, model_id: str) -> None:
    """Forget a model's index files (its vectors are gone from the database)."""
    shutil.rmtree(index_folder(workspace, model_id), ignore_errors=True)


def sync_index(workspace: ModelStore, model_id: str) -> Stamp:
    """Make the files mirror the database (append new vectors or rebuild); returns the new stamp."""
    folder = index_folder(workspace, model_id)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder), workspace.snapshot():
        uid = workspace.workspace_uid()
        vectors, rewrites = workspace.vector_stamp(model_id)
        stamp = _read_stamp(folder)
        if stamp is not None and stamp.matches(uid, model_id, vectors, rewrites) and _files_ok(folder, stamp):
            return stamp
        extendable = (
            stamp is not None
            and (stamp.format, stamp.workspace_uid, stamp.model_id, stamp.rewrites) == (FORMAT, uid, model_id, rewrites)
            and stamp.rows < vectors
            and _files_ok(folder, stamp)
        )
        if extendable:
            assert stamp is not None
            new = _append(folder, stamp, workspace.vector_rows(model_id, stamp.last_rowid))
            if new.rows == vectors:
                _write_stamp(folder, new)
                return new
        new = _rebuild(folder, Stamp(FORMAT, uid, model_id, "", 0, 0, rewrites, 0), workspace.vector_rows(model_id))
        if new.rows != vectors:  # cannot happen inside one snapshot unless the triggers were bypassed
            raise RuntimeError(f"{workspace.path}: {vectors} vectors counted for model {model_id}, {new.rows} read")
        _write_stamp(folder, new)
        _remove_other_generations(folder, new.generation)
        return new


def _append(folder: Path, stamp: Stamp, batches: Iterator[VectorRows]) -> Stamp:
    generation = folder / stamp.generation
    rows, dim, last_rowid = stamp.rows, stamp.dim, stamp.last_rowid
    with ExitStack() as stack:
        handles = {name: stack.enter_context(open(generation / name, "r+b")) for name in [*COLUMNS, "vectors"]}
        for name, handle in handles.items():  # drop whatever a killed writer left past the valid rows
            handle.truncate(stamp.rows * _row_bytes(name, stamp.dim))
            handle.seek(0, os.SEEK_END)
        for batch in batches:
            dim = dim or batch.vectors.shape[1]
            _write_batch(handles, batch)
            rows, last_rowid = rows + len(batch.rowids), int(batch.rowids[-1])
    return Stamp(**(asdict(stamp) | {"rows": rows, "dim": dim, "last_rowid": last_rowid}))


def _rebuild(folder: Path, stamp: Stamp, batches: Iterator[VectorRows]) -> Stamp:
    name = f"g{uuid.uuid4().hex[:12]}"
    (folder / name).mkdir()
    for column in [*COLUMNS, "vectors"]:
        (folder / name / column).touch()
    return _append(folder, Stamp(**(asdict(stamp) | {"generation": name})), batches)


def _write_batch(handles: dict, batch: VectorRows) -> None:
    handles["ids"].write(batch.tracklet_ids.astype(np.int64).tobytes())
    handles["cameras"].write(batch.camera_ids.astype(np.int32).tobytes())
    handles["starts"].write(batch.start_times.astype(np.float64).tobytes())
    handles["ends"].write(batch.end_times.astype(np.float64).tobytes())
    handles["vectors"].write(np.ascontiguousarray(batch.vectors, dtype=np.float32).tobytes())


def _row_bytes(column: str, dim: int) -> int:
    return 4 * dim if column == "vectors" else np.dtype(COLUMNS[column]).itemsize


def _files_ok(folder: Path, stamp: Stamp) -> bool:
    """Every column file exists and holds at least the stamp's rows."""
    generation = folder / stamp.generation
    try:
        return all(
            (generation / name).stat().st_size >= stamp.rows * _row_bytes(name, stamp.dim)
            for name in [*COLUMNS, "vectors"]
        )
    except OSError:
        return False


def _map(folder: Path, stamp: Stamp) -> VectorIndex:
    generation = folder / stamp.generation

    def column(name: str, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
        if stamp.rows == 0:
            return np.zeros(shape, dtype=dtype)
        return np.memmap(generation / name, dtype=dtype, mode="r", shape=shape)

    columns = {name: column(name, dtype, (stamp.rows,)) for name, dtype in COLUMNS.items()}
    vectors = column("vectors", np.float32, (stamp.rows, stamp.dim))
    return VectorIndex(stamp.model_id, stamp, vectors=vectors, **columns)


def _read_stamp(folder: Path) -> Stamp | None:
    try:
        return Stamp(**json.loads((folder / "stamp.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_stamp(folder: Path, stamp: Stamp) -> None:
    temporary = folder / f"stamp.{uuid.uuid4().hex[:8]}.tmp"
    temporary.write_text(json.dumps(asdict(stamp)))
    os.replace(temporary, folder / "stamp.json")  # atomic: readers see the old stamp or the new one


def _remove_other_generations(folder: Path, keep: str) -> None:
    """Old generations and stray temporary stamps; a reader that still maps an old file keeps it
    (POSIX), and a file that cannot be removed now is removed by a later rebuild."""
    for path in folder.iterdir():
        if path.is_dir() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
        elif path.suffix == ".tmp":
            path.unlink(missing_ok=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / "lock", "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
