"""The workspace: one folder holding one SQLite file (WAL mode) with everything in it.

Crops are stored as JPEG blobs inside the database rather than as files: a video's rows and
its crops then commit or roll back together, so a killed process or a full disk can never
leave orphan files or rows that point at missing files, and a workspace is copied as one file.

Every SQL statement lives in ``reid_core.store``; ``Workspace`` puts its parts together.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from reid_core.errors import ResourceError, storage_error
from reid_core.store.footage import FootageStore
from reid_core.store.labels import LabelStore
from reid_core.store.location import is_database_url
from reid_core.store.proposals import ProposalStore
from reid_core.store.schema import (
    APP_ID,
    DB_NAME,
    SCHEMA_VERSION,
    TrackletRow,
    WorkspaceError,
    check_or_create_schema,
)
from reid_core.store.vectors_db import ModelStore

LOCK_WAIT_S = 30.0  # how long a statement waits for another program's write lock before failing in one line

__all__ = [
    "APP_ID",
    "DB_NAME",
    "SCHEMA_VERSION",
    "TrackletRow",
    "Workspace",
    "WorkspaceError",
    "open_workspace",
]


class Workspace(FootageStore, ModelStore, LabelStore, ProposalStore):
    """Open (or create) a workspace folder. Use as a context manager to close it."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = self.location = Path(folder)
        self.path = self.folder / DB_NAME
        if not self.path.exists():
            if not create:
                raise WorkspaceError(f"{self.folder}: no workspace here (missing {DB_NAME})")
            self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite_utils.Database(self._connect())
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            check_or_create_schema(self.db, self.path)
        except sqlite3.DatabaseError as exc:
            problem = storage_error(exc, self.path)  # locked by another program, read-only, disk full
            if isinstance(problem, ResourceError):
                raise problem from exc
            raise WorkspaceError(f"{self.path}: not a usable SQLite database ({exc})") from exc

    def _connect(self) -> sqlite3.Connection:
        """The database, or on read-only media (where SQLite cannot create the WAL's shared-memory
        file) the same file opened immutable: searching works, writing fails in one line."""
        self.read_only = False
        connection = sqlite3.connect(str(self.path), timeout=LOCK_WAIT_S, isolation_level=None)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file (and its WAL)
            return connection
        except sqlite3.OperationalError:
            connection.close()
            if not self.path.is_file() or os.access(self.folder, os.W_OK):
                raise
        self.read_only = True
        return sqlite3.connect(f"{self.path.as_uri()}?immutable=1", uri=True, timeout=LOCK_WAIT_S, isolation_level=None)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()


def open_workspace(location: str | Path, create: bool = True) -> Workspace:
    """The workspace at a folder (SQLite) or a ``postgresql://user@host:port/database`` URL."""
    if is_database_url(location):
        try:
            from reid_core.store.postgres_workspace import PostgresWorkspace
        except ImportError as exc:
            problem = "PostgreSQL workspaces need psycopg 3 (pip install '.[postgres]')"
            raise WorkspaceError(f"{location}: {problem}") from exc
        return PostgresWorkspace(str(location), create=create)  # same methods
    return Workspace(location, create=create)
