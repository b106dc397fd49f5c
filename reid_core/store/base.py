"""What every part of the store shares: the open database, where it lives, and transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils


class StoreBase:
    """The connection and paths the store parts (mixins of ``Workspace``) work on."""

    db: sqlite_utils.Database
    folder: Path  # this machine's folder for what derives from the database (vector index, ONNX models)
    path: Path  # what messages name
    location: str | Path  # what ``open_workspace`` opens again (a child process, another thread)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested uses join the outer one).

        On SQLite the outermost one takes the write lock when it begins (``BEGIN IMMEDIATE``): a
        deferred transaction that reads first and then writes after another process committed
        fails at once with "database is locked" (its snapshot is stale; the 30 s busy wait does not
        apply), which is what two ingests of one workspace ran into; an immediate one waits its turn.
        """
        connection = self.db.conn
        if not isinstance(connection, sqlite3.Connection) or connection.in_transaction:
            with self.db.atomic():
                yield
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one consistent state of the database, whatever other processes commit."""
        if self.db.conn.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    @contextmanager
    def claim_video(self, content_hash: str) -> Iterator[None]:
        """Inside, no other writer works on the video with this content hash. A SQLite workspace has
        a single machine's writers, whose transactions already keep it whole: nothing to do here."""
        yield

    def lock_labels(self) -> None:
        """Until the enclosing transaction ends, no other writer changes verdicts or identities: a rule
        that reads labels and then writes (confirming joins identities) sees what others committed
        before it. A SQLite transaction already holds the database's one write lock: nothing to do."""

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    def meta_starting(self, prefix: str) -> dict[str, str]:
        """The meta entries whose key starts with ``prefix`` (``_`` and ``%`` in it match themselves)."""
        rows = self.db.execute("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", [len(prefix), prefix])
        return {str(k): str(v) for k, v in rows.fetchall()}

    def delete_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key = ?", [key])
