"""A workspace whose database is a PostgreSQL server: the same store parts as the SQLite ``Workspace``
(same methods, same SQL), on a ``PgDatabase`` connection.

What SQLite keeps beside its file stays on the reading machine here: ``folder`` is a local cache
(``$XDG_CACHE_HOME/rru-reid/<host>_<port>_<database>``, or ``$REID_CACHE_DIR/...``) holding the
vector index built from the server's embeddings and the exported ONNX models. The index's stamp
names the workspace's uid, so a re-created database of the same name is never served stale vectors.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from reid_core.errors import ResourceError
from reid_core.store.footage import FootageStore
from reid_core.store.labels import LabelStore
from reid_core.store.location import without_password
from reid_core.store.postgres import PgDatabase
from reid_core.store.postgres_schema import PG_VERDICT_LOG, check_or_create_schema, primary_keys
from reid_core.store.proposals import ProposalStore
from reid_core.store.schema import WorkspaceError
from reid_core.store.vectors_db import ModelStore


def advisory_lock_key(what: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of ``what`` (a video's content hash, "session <name>",
    "labels"): a collision only makes two holders wait for each other. Every key is hashed with the
    prefix earlier versions used for all of them, so processes of two versions still lock each other out."""
    return int.from_bytes(hashlib.sha256(b"rru-reid video " + what.encode()).digest()[:8], "big", signed=True)


LABELS_LOCK = advisory_lock_key("labels")  # transaction advisory lock: one writer of verdicts and identities at a time


def cache_folder(url: str) -> Path:
    """The local folder for what this machine derives from the workspace on that server."""
    info = conninfo_to_dict(url)
    name = "_".join(str(info.get(k) or d) for k, d in (("host", "local"), ("port", 5432), ("dbname", "postgres")))
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rru-reid"
    return Path(os.environ.get("REID_CACHE_DIR") or cache) / re.sub(r"[^\w.-]", "_", name)


def read_server_crops(url: str, tracklet_id: int) -> dict[int, bytes]:
    """A tracklet's JPEG crops by frame, through a connection of its own (see ``footage.read_crops``)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=30) as connection:
        rows = connection.execute("SELECT frame, jpeg FROM crops WHERE tracklet_id = %s", [tracklet_id]).fetchall()
    return {int(frame): bytes(jpeg) for frame, jpeg in rows}


class PostgresWorkspace(FootageStore, ModelStore, LabelStore, ProposalStore):
    """Open (or, on an empty database, create) a workspace on a PostgreSQL server. Use as a context manager."""

    read_only = False
    verdict_log_ddl = PG_VERDICT_LOG

    def __init__(self, url: str, create: bool = True) -> None:
        self.url = self.location = url
        self.path = without_password(url)  # what messages name
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=30)
        except psycopg.Error as exc:
            raise WorkspaceError(f"{self.path}: cannot connect ({str(exc).strip().splitlines()[0]})") from exc
        self.db = PgDatabase(connection, primary_keys(), self.path)
        try:
            check_or_create_schema(self.db, self.path, create)
        except BaseException:
            self.db.close()
            raise
        self.folder = cache_folder(url)
        self.folder.mkdir(parents=True, exist_ok=True)

    def camera_id(self, name: str) -> int:
        """Id of the named camera, creating it if needed; two writers naming a new camera at once
        get the same row. They take turns on the name's advisory lock, so only the first inserts and
        the ids stay those of a sequential run (an insert that loses on the unique name would still
        draw an id from the sequence first); a writer whose transaction has not committed the row yet
        is waited for by the unique name, and then its row is read."""
        select = "SELECT id FROM cameras WHERE name = ?"
        row = self.db.execute(select, [name]).fetchone()
        if row:
            return int(row[0])
        key = advisory_lock_key(f"camera {name}")
        self.db.execute("SELECT pg_advisory_lock(?)", [key])
        try:
            row = self.db.execute(select, [name]).fetchone()
            if row is None:
                self.db.execute("INSERT INTO cameras (name) VALUES (?) ON CONFLICT (name) DO NOTHING", [name])
                row = self.db.execute(select, [name]).fetchone()
            return int(row[0])
        finally:
            with suppress(ResourceError):  # a lost connection took the lock with it
                self.db.execute("SELECT pg_advisory_unlock(?)", [key])

    def lock_labels(self) -> None:
        """Several analysts on one case: their label changes take turns (a transaction-level lock,
        dropped at commit), so two confirmations at once cannot put one tracklet in two identities."""
        self.db.execute("SELECT pg_advisory_xact_lock(?)", [LABELS_LOCK])

    @contextmanager
    def claim_video(self, content_hash: str) -> Iterator[None]:
        """Inside, this connection holds the video's advisory lock: another writer on the same video
        (another process, machine or Ray worker) waits here until this one is done, then finds it
        finished. The server drops the lock with the session, so a writer that dies mid-video frees
        it and the next one resumes the video from its last checkpoint."""
        key = advisory_lock_key(content_hash)
        self.db.execute("SELECT pg_advisory_lock(?)", [key])
        try:
            yield
        finally:
            with suppress(ResourceError):  # a lost connection took the lock with it
                self.db.execute("SELECT pg_advisory_unlock(?)", [key])

    def lock_session(self, name: str, wait: bool = True) -> bool:
        """Take the advisory lock named ``name`` for this connection (until ``unlock_session`` or the
        session ends, a killed process included); without ``wait``, False when another session holds it."""
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        row = self.db.execute(f"SELECT {function}(?)", [advisory_lock_key(f"session {name}")]).fetchone()
        return wait or bool(row[0])

    def unlock_session(self, name: str) -> None:
        with suppress(ResourceError):  # a lost connection took the lock with it
            self.db.execute("SELECT pg_advisory_unlock(?)", [advisory_lock_key(f"session {name}")])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one consistent state (a repeatable-read transaction), whatever others commit."""
        if self.db.conn.in_transaction:
            yield
            return
        with self.db.atomic():
            self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield

    def __enter__(self) -> PostgresWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()
