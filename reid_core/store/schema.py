"""Tables, indexes and the checks that decide whether a SQLite file is a workspace we can open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlite_utils

from reid_core.errors import UserError

DB_NAME = "workspace.sqlite"
APP_ID = "rru-reid-workspace"
SCHEMA_VERSION = 2  # 2: proposed people (proposals, proposal_members, camera_pairs)


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
# Added in schema version 2 (a version-1 workspace gets them from ``migrate``): proposed people,
# kept apart from the identities the operator confirmed, and per camera pair settings.
PEOPLE_TABLES: dict[str, dict] = {
    "proposals": {  # one proposed person; ``identity_id`` once accepted into a confirmed identity
        "columns": {"id": int, "confidence": float, "identity_id": int, "model_id": str, "created_at": float},
        "pk": "id",
    },
    "proposal_members": {  # a tracklet belongs to at most one proposal
        "columns": {"tracklet_id": int, "proposal_id": int, "confidence": float},
        "pk": "tracklet_id",
        "foreign_keys": [("tracklet_id", "tracklets", "id"), ("proposal_id", "proposals", "id")],
    },
    "camera_pairs": {  # camera_a < camera_b; views_overlap = 1: one person may be in both at once
        "columns": {"camera_a": int, "camera_b": int, "views_overlap": int},
        "pk": ("camera_a", "camera_b"),
        "foreign_keys": [("camera_a", "cameras", "id"), ("camera_b", "cameras", "id")],
    },
}
TABLES |= PEOPLE_TABLES
INDEXES = [
    ("tracklets", ["camera_id"]),
    ("tracklets", ["video_id"]),
    ("embeddings", ["model_id"]),
    ("videos", ["content_hash"]),
    ("proposal_members", ["proposal_id"]),
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


# Every write to ``embeddings`` (through the store or not) keeps a per-model stamp: how many vectors
# the model has and how many times one was changed or removed. The vector index beside the
# database compares its own stamp with this one, so it can never serve rows SQLite no longer holds.
VECTOR_STAMPS = [
    "CREATE TABLE IF NOT EXISTS vector_stamps "
    "(model_id TEXT PRIMARY KEY, vectors INTEGER NOT NULL, rewrites INTEGER NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS embeddings_added AFTER INSERT ON embeddings BEGIN "
    "INSERT INTO vector_stamps (model_id, vectors, rewrites) VALUES (NEW.model_id, 1, 0) "
    "ON CONFLICT(model_id) DO UPDATE SET vectors = vectors + 1; END",
    "CREATE TRIGGER IF NOT EXISTS embeddings_changed AFTER UPDATE OF tracklet_id, model_id, vector ON embeddings "
    "BEGIN UPDATE vector_stamps SET vectors = vectors - 1, rewrites = rewrites + 1 WHERE model_id = OLD.model_id; "
    "INSERT INTO vector_stamps (model_id, vectors, rewrites) VALUES (NEW.model_id, 1, 1) "
    "ON CONFLICT(model_id) DO UPDATE SET vectors = vectors + 1, rewrites = rewrites + 1; END",
    "CREATE TRIGGER IF NOT EXISTS embeddings_removed AFTER DELETE ON embeddings BEGIN "
    "UPDATE vector_stamps SET vectors = vectors - 1, rewrites = rewrites + 1 WHERE model_id = OLD.model_id; END",
]


def install_vector_stamps(db: sqlite_utils.Database) -> None:
    """Add the stamp table and its triggers to a workspace made before they existed (once, under the
    write lock), counting the vectors already stored; also give the workspace its unique id."""
    installed = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'embeddings_removed'"
    if db.execute(installed).fetchone():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db.execute(installed).fetchone():
            for statement in VECTOR_STAMPS:
                db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO vector_stamps (model_id, vectors, rewrites) "
                "SELECT model_id, COUNT(*), 0 FROM embeddings GROUP BY model_id"
            )
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('uid', ?)", [uuid.uuid4().hex])
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def create_schema_if_empty(db: sqlite_utils.Database) -> None:
    """Create the tables under the write lock, re-checking inside it: another process
    (the CLI beside the app, say) may be creating the same new workspace right now."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db.table_names():
            for name, spec in TABLES.items():
                db[name].create(spec["columns"], pk=spec["pk"], foreign_keys=spec.get("foreign_keys"))
            for table, columns in INDEXES:
                db[table].create_index(columns)
            db["meta"].insert_all(
                [{"key": "app", "value": APP_ID}, {"key": "schema_version", "value": str(SCHEMA_VERSION)}]
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def check_or_create_schema(db: sqlite_utils.Database, path: object) -> None:
    """Create a new workspace's tables, or raise ``WorkspaceError`` for a file we must not touch."""
    if not db.table_names():
        create_schema_if_empty(db)
    tables = set(db.table_names())
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    if meta.get("app") != APP_ID:
        raise WorkspaceError(f"{path}: not a re-ID workspace (foreign SQLite database)")
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise WorkspaceError(
            f"{path}: workspace schema version {version} is newer than this program's {SCHEMA_VERSION}; "
            "update the program"
        )
    if version < 1:
        raise WorkspaceError(f"{path}: workspace schema version {version} is too old to open")
    if version < SCHEMA_VERSION:
        migrate(db)
    install_vector_stamps(db)


def _add_people_tables(db: sqlite_utils.Database) -> None:
    for name, spec in PEOPLE_TABLES.items():
        if name not in db.table_names():
            db[name].create(spec["columns"], pk=spec["pk"], foreign_keys=spec.get("foreign_keys"))
    db["proposal_members"].create_index(["proposal_id"], if_not_exists=True)


MIGRATIONS = {1: _add_people_tables}  # from version N to N + 1


def migrate(db: sqlite_utils.Database) -> None:
    """Bring an older workspace up to ``SCHEMA_VERSION`` in one transaction under the write lock
    (re-reading the version inside it: another process may have migrated it meanwhile)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](db)
            version += 1
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
