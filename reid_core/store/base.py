"""What every part of the store shares: the open database, where it lives, and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils


class StoreBase:
    """The connection and paths the store parts (mixins of ``Workspace``) work on."""

    db: sqlite_utils.Database
    folder: Path
    path: Path

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested uses join the outer one)."""
        with self.db.atomic():
            yield

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")
