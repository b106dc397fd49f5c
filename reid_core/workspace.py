"""The workspace: one folder holding one SQLite file (WAL mode) with everything in it.

Crops are stored as JPEG blobs inside the database rather than as files: a video's rows and
its crops then commit or roll back together, so a killed process or a full disk can never
leave orphan files or rows that point at missing files, and a workspace is copied as one file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from reid_core.errors import UserError

DB_NAME = "workspace.sqlite"
APP_ID = "rru-reid-workspace"
SCHEMA_VERSION = 1


class WorkspaceError(UserError):
    """A workspace that cannot be opened or used; the message names the file."""


TABLES: dict[str, dict] = {
    "meta": {"columns": {"key": str, "value": str}, "pk": "key"},
    "cameras": {"columns": {"id": int, "name": str}, "pk": "id"},
    "videos": {
        "columns": {
            "id": int,
            "camera_id": int,
            "path": str,
            "content_hash": str,
            "fps": float,
            "frame_count": int,
            "width": int,
            "height": int,
            "start_time": float,
            "frames_processed": int,
            "params": str,
            "added_at": float,
        },
        "pk": "id",
        "foreign_keys": [("camera_id", "cameras", "id")],
    },
    "tracklets": {
        "columns": {
            "id": int,
            "video_id": int,
            "camera_id": int,
            "track_id": int,
            "start_frame": int,
            "end_frame": int,
            "start_time": float,
            "end_time": float,
            "length": int,
        },
        "pk": "id",
        "foreign_keys": [("video_id", "videos", "id"), ("camera_id", "cameras", "id")],
    },
    "boxes": {
        "columns": {
            "tracklet_id": int,
            "frame": int,
            "x1": float,
            "y1": float,
            "x2": float,
            "y2": float,
            "score": float,
        },
        "pk": ("tracklet_id", "frame"),
        "foreign_keys": [("tracklet_id", "tracklets", "id")],
    },
    "crops": {
        "columns": {"tracklet_id": int, "frame": int, "jpeg": bytes},
        "pk": ("tracklet_id", "frame"),
        "foreign_keys": [("tracklet_id", "tracklets", "id")],
    },
    "models": {
        "columns": {
            "id": str,
            "name": str,
            "path": str,
            "backbone": str,
            "feature_dim": int,
            "config": str,
            "created_at": float,
        },
        "pk": "id",
    },
    "embeddings": {
        "columns": {"tracklet_id": int, "model_id": str, "dim": int, "vector": bytes},
        "pk": ("tracklet_id", "model_id"),
        "foreign_keys": [("tracklet_id", "tracklets", "id"), ("model_id", "models", "id")],
    },
    "gate_maps": {  # channel mean of the RRU update gate per embedded frame, float16 T×h×w
        "columns": {"tracklet_id": int, "model_id": str, "frames": str, "height": int, "width": int, "data": bytes},
        "pk": ("tracklet_id", "model_id"),
        "foreign_keys": [("tracklet_id", "tracklets", "id"), ("model_id", "models", "id")],
    },
    "identities": {"columns": {"id": int, "name": str, "created_at": float}, "pk": "id"},
    "identity_tracklets": {
        "columns": {"identity_id": int, "tracklet_id": int},
        "pk": ("identity_id", "tracklet_id"),
        "foreign_keys": [("identity_id", "identities", "id"), ("tracklet_id", "tracklets", "id")],
    },
    "matches": {  # operator verdicts on (query, candidate) pairs: the labels retraining uses
        "columns": {
            "id": int,
            "query_tracklet_id": int,
            "match_tracklet_id": int,
            "verdict": str,
            "similarity": float,
            "model_id": str,
            "created_at": float,
        },
        "pk": "id",
        "foreign_keys": [("query_tracklet_id", "tracklets", "id"), ("match_tracklet_id", "tracklets", "id")],
    },
}
INDEXES = [
    ("tracklets", ["camera_id"]),
    ("tracklets", ["video_id"]),
    ("embeddings", ["model_id"]),
    ("videos", ["content_hash"]),
]


TRACKLET_SELECT = (
    "SELECT t.id, t.video_id, t.camera_id, c.name, t.track_id, t.start_frame, t.end_frame, "
    "t.start_time, t.end_time, t.length FROM tracklets t JOIN cameras c ON c.id = t.camera_id"
)


@dataclass(frozen=True)
class TrackletRow:
    id: int
    video_id: int
    camera_id: int
    camera: str
    track_id: int
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    length: int


class Workspace:
    """Open (or create) a workspace folder. Use as a context manager to close it."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        if not self.path.exists():
            if not create:
                raise WorkspaceError(f"{self.folder}: no workspace here (missing {DB_NAME})")
            self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=30, isolation_level=None))
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._check_or_create_schema()
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path}: not a usable SQLite database ({exc})") from exc

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- schema -------------------------------------------------------------------------
    def _create_schema_if_empty(self) -> None:
        """Create the tables under the write lock, re-checking inside it: another process
        (the CLI beside the app, say) may be creating the same new workspace right now."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if not self.db.table_names():
                for name, spec in TABLES.items():
                    self.db[name].create(spec["columns"], pk=spec["pk"], foreign_keys=spec.get("foreign_keys"))
                for table, columns in INDEXES:
                    self.db[table].create_index(columns)
                self.db["meta"].insert_all(
                    [{"key": "app", "value": APP_ID}, {"key": "schema_version", "value": str(SCHEMA_VERSION)}]
                )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _check_or_create_schema(self) -> None:
        if not self.db.table_names():
            self._create_schema_if_empty()
        tables = set(self.db.table_names())
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        if meta.get("app") != APP_ID:
            raise WorkspaceError(f"{self.path}: not a re-ID workspace (foreign SQLite database)")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.path}: workspace schema version {version} is newer than this program's {SCHEMA_VERSION}; "
                "update the program"
            )
        if version < SCHEMA_VERSION:
            raise WorkspaceError(f"{self.path}: workspace schema version {version} is too old to open")

    # -- settings -------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # -- cameras and videos -----------------------------------------------------------
    def camera_id(self, name: str) -> int:
        """Id of the named camera, creating it if needed."""
        row = self.db.execute("SELECT id FROM cameras WHERE name = ?", [name]).fetchone()
        if row:
            return int(row[0])
        return int(self.db["cameras"].insert({"name": name}).last_pk)

    def cameras(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT id, name FROM cameras ORDER BY id").fetchall())

    def video_by_hash(self, digest: str) -> dict | None:
        rows = list(self.db["videos"].rows_where("content_hash = ?", [digest]))
        return rows[0] if rows else None

    def videos(self) -> list[dict]:
        return list(self.db["videos"].rows_where(order_by="id"))

    # -- tracklets ----------------------------------------------------------------------
    def tracklets(self, camera_ids: list[int] | None = None) -> list[TrackletRow]:
        sql = TRACKLET_SELECT
        params: list = []
        if camera_ids is not None:
            sql += f" WHERE t.camera_id IN ({','.join('?' * len(camera_ids))})"
            params = list(camera_ids)
        return [TrackletRow(*row) for row in self.db.execute(sql + " ORDER BY t.id", params).fetchall()]

    def tracklet(self, tracklet_id: int) -> TrackletRow:
        row = self.db.execute(f"{TRACKLET_SELECT} WHERE t.id = ?", [tracklet_id]).fetchone()
        if row is None:
            raise WorkspaceError(f"{self.path}: no tracklet {tracklet_id}")
        return TrackletRow(*row)

    def boxes(self, tracklet_id: int) -> list[dict]:
        return list(self.db["boxes"].rows_where("tracklet_id = ?", [tracklet_id], order_by="frame"))

    def boxes_by_frame(self, video_id: int) -> dict[int, list[tuple[int, float, float, float, float]]]:
        """Every stored box of a video, by frame: (tracklet id, x1, y1, x2, y2); what a player draws."""
        rows = self.db.execute(
            "SELECT b.frame, b.tracklet_id, b.x1, b.y1, b.x2, b.y2 FROM boxes b "
            "JOIN tracklets t ON t.id = b.tracklet_id WHERE t.video_id = ? ORDER BY b.frame",
            [video_id],
        ).fetchall()
        by_frame: dict[int, list[tuple[int, float, float, float, float]]] = {}
        for frame, tracklet_id, *box in rows:
            by_frame.setdefault(int(frame), []).append((int(tracklet_id), *box))
        return by_frame

    def crops(self, tracklet_id: int) -> list[tuple[int, bytes]]:
        return [
            (int(f), bytes(j))
            for f, j in self.db.execute(
                "SELECT frame, jpeg FROM crops WHERE tracklet_id = ? ORDER BY frame", [tracklet_id]
            ).fetchall()
        ]

    def thumbnail(self, tracklet_id: int) -> bytes | None:
        """The middle crop's JPEG, without reading the tracklet's other crops."""
        row = self.db.execute(
            "SELECT jpeg FROM crops WHERE tracklet_id = ? ORDER BY frame LIMIT 1 "
            "OFFSET (SELECT COUNT(*) FROM crops WHERE tracklet_id = ?) / 2",
            [tracklet_id, tracklet_id],
        ).fetchone()
        return bytes(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        return {
            name: self.db[name].count
            for name in ("cameras", "videos", "tracklets", "boxes", "crops", "embeddings", "models")
        }

    # -- models and embeddings ----------------------------------------------------------
    def register_model(
        self, model_id: str, name: str, path: str, backbone: str, feature_dim: int, config: dict
    ) -> None:
        self.db["models"].upsert(
            {
                "id": model_id,
                "name": name,
                "path": path,
                "backbone": backbone,
                "feature_dim": feature_dim,
                "config": json.dumps(config),
                "created_at": time.time(),
            },
            pk="id",
        )

    def models(self) -> list[dict]:
        return list(self.db["models"].rows_where(order_by="created_at"))

    def delete_model(self, model_id: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM gate_maps WHERE model_id = ?", [model_id])
            self.db.execute("DELETE FROM embeddings WHERE model_id = ?", [model_id])
            self.db.execute("DELETE FROM models WHERE id = ?", [model_id])

    def unembedded_tracklets(self, model_id: str) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM tracklets WHERE id NOT IN (SELECT tracklet_id FROM embeddings WHERE model_id = ?) "
                "ORDER BY id",
                [model_id],
            ).fetchall()
        ]

    def save_embedding(
        self,
        tracklet_id: int,
        model_id: str,
        vector: np.ndarray,
        gate_frames: list[int] | None,
        heatmaps: np.ndarray | None,
    ) -> None:
        """Store f (float32, unit length) and the gate heatmaps in one transaction."""
        with self.db.atomic():
            self.db["embeddings"].upsert(
                {
                    "tracklet_id": tracklet_id,
                    "model_id": model_id,
                    "dim": vector.size,
                    "vector": vector.astype(np.float32).tobytes(),
                },
                pk=("tracklet_id", "model_id"),
            )
            if heatmaps is not None:
                self.db["gate_maps"].upsert(
                    {
                        "tracklet_id": tracklet_id,
                        "model_id": model_id,
                        "frames": json.dumps(gate_frames),
                        "height": heatmaps.shape[1],
                        "width": heatmaps.shape[2],
                        "data": heatmaps.astype(np.float16).tobytes(),
                    },
                    pk=("tracklet_id", "model_id"),
                )

    def embeddings(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(tracklet ids, N×D float32 matrix) for one model."""
        rows = self.db.execute(
            "SELECT tracklet_id, vector FROM embeddings WHERE model_id = ? ORDER BY tracklet_id", [model_id]
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def gate_maps(self, tracklet_id: int, model_id: str) -> tuple[list[int], np.ndarray] | None:
        row = self.db.execute(
            "SELECT frames, height, width, data FROM gate_maps WHERE tracklet_id = ? AND model_id = ?",
            [tracklet_id, model_id],
        ).fetchone()
        if row is None:
            return None
        frames = json.loads(row[0])
        return frames, np.frombuffer(row[3], dtype=np.float16).reshape(len(frames), row[1], row[2])
