"""Operator verdicts on (query, candidate) pairs and identities (groups of tracklets of one person).

The rules (what confirming or rejecting does to identities) live in ``app.pipeline.identities``;
this part only reads and writes the rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reid_core.store.base import StoreBase

LABEL_TABLES = ("matches", "identity_tracklets", "identities")  # children first: the order rows are deleted in
# Added after schema version 1: created on first use, so a workspace that never logged opens unchanged.
VERDICT_LOG = (
    "CREATE TABLE IF NOT EXISTS verdict_log (id INTEGER PRIMARY KEY, at REAL NOT NULL, action TEXT NOT NULL, "
    "query_tracklet_id INTEGER, match_tracklet_id INTEGER, verdict TEXT, similarity REAL, model_id TEXT, "
    "identity_id INTEGER, note TEXT)"
)
LOG_COLUMNS = ("at", "action", "query_tracklet_id", "match_tracklet_id", "verdict", "similarity", "model_id",
               "identity_id", "note")


class LabelStore(StoreBase):
    verdict_log_ddl = VERDICT_LOG  # PostgreSQL's own types: ``postgres_schema.PG_VERDICT_LOG``

    @contextmanager
    def label_transaction(self) -> Iterator[None]:
        """One transaction (joining an outer one) in which no other writer changes labels.

        Every rule that reads labels and then writes them (confirming joins identities, undo checks
        that no one else wrote) runs inside one, so what it reads is still true when it writes."""
        with self.transaction():
            self.lock_labels()
            yield

    # -- verdicts -------------------------------------------------------------------------
    def record_verdict(
        self, query_id: int, match_id: int, verdict: str, similarity: float | None, model_id: str | None
    ) -> None:
        """One verdict per (query, candidate) pair: the latest replaces an earlier one."""
        with self.label_transaction():
            self.db.execute(
                "DELETE FROM matches WHERE query_tracklet_id = ? AND match_tracklet_id = ?", [query_id, match_id]
            )
            self.db["matches"].insert(
                {
                    "query_tracklet_id": query_id,
                    "match_tracklet_id": match_id,
                    "verdict": verdict,
                    "similarity": similarity,
                    "model_id": model_id,
                    "created_at": time.time(),
                }
            )

    def log_label_event(self, action: str, **fields: Any) -> None:
        """Append to the verdict history (never rewritten: undo is logged as an event of its own)."""
        self.db.execute(self.verdict_log_ddl)
        row = {"at": time.time(), "action": action, **fields}
        names = [c for c in LOG_COLUMNS if c in row]
        self.db.execute(
            f"INSERT INTO verdict_log ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[c] for c in names],
        )

    def label_log(self, tracklet_ids: list[int] | None = None) -> list[dict]:
        """The verdict history in time order; with ``tracklet_ids``, only events on pairs touching them."""
        if "verdict_log" not in self.db.table_names():
            return []
        sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM verdict_log"
        params: list[int] = []
        if tracklet_ids is not None:
            marks = ", ".join("?" * len(tracklet_ids))
            sql += f" WHERE query_tracklet_id IN ({marks}) OR match_tracklet_id IN ({marks})"
            params = [*tracklet_ids, *tracklet_ids]
        rows = self.db.execute(sql + " ORDER BY id", params).fetchall()
        return [dict(zip(LOG_COLUMNS, row)) for row in rows]

    def label_snapshot(self) -> dict[str, list[tuple]]:
        """Every verdict, identity and membership as rows: what undo puts back (labels are few: the operator's)."""
        return {table: self.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in LABEL_TABLES}

    def restore_labels(self, snapshot: dict[str, list[tuple]]) -> None:
        """Make the label tables exactly what ``label_snapshot`` returned (one transaction)."""
        with self.label_transaction():
            for table in LABEL_TABLES:
                self.db.execute(f"DELETE FROM {table}")
            for table in reversed(LABEL_TABLES):  # parents first
                rows = snapshot[table]
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    self.db.conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def verdicts(self, query_id: int) -> dict[int, str]:
        rows = self.db.execute(
            "SELECT match_tracklet_id, verdict FROM matches WHERE query_tracklet_id = ?", [query_id]
        ).fetchall()
        return {int(m): str(v) for m, v in rows}

    # -- identities -----------------------------------------------------------------------
    def identity_of(self, tracklet_id: int) -> int | None:
        row = self.db.execute(
            "SELECT identity_id FROM identity_tracklets WHERE tracklet_id = ? ORDER BY identity_id LIMIT 1",
            [tracklet_id],
        ).fetchone()
        return int(row[0]) if row else None

    def identity_name(self, identity_id: int) -> str | None:
        row = self.db.execute("SELECT name FROM identities WHERE id = ?", [identity_id]).fetchone()
        return str(row[0]) if row else None

    def identity_names(self) -> list[tuple[int, str]]:
        """(id, name) of every identity, by id."""
        return [(int(i), str(n)) for i, n in self.db.execute("SELECT id, name FROM identities ORDER BY id")]

    def verdict_rows(self, tracklet_ids: list[int]) -> list[dict]:
        """The current verdicts on pairs touching these tracklets (query or candidate), oldest first."""
        marks = ", ".join("?" * len(tracklet_ids))
        rows = self.db.execute(
            "SELECT query_tracklet_id, match_tracklet_id, verdict, similarity, model_id, created_at FROM matches "
            f"WHERE query_tracklet_id IN ({marks}) OR match_tracklet_id IN ({marks}) ORDER BY created_at, id",
            [*tracklet_ids, *tracklet_ids],
        ).fetchall()
        names = ("query_tracklet_id", "match_tracklet_id", "verdict", "similarity", "model_id", "created_at")
        return [dict(zip(names, row)) for row in rows]

    def verdicts_of_queries(self, query_ids: list[int]) -> list[tuple[int, str, float]]:
        """(candidate, verdict, time) of every verdict made from any of these queries, oldest first."""
        marks = ", ".join("?" * len(query_ids))
        rows = self.db.execute(
            f"SELECT match_tracklet_id, verdict, created_at FROM matches WHERE query_tracklet_id IN ({marks}) "
            "ORDER BY created_at, id",
            query_ids,
        ).fetchall()
        return [(int(m), str(v), float(t or 0)) for m, v, t in rows]

    def identity_members(self, identity_id: int) -> list[int]:
        rows = self.db.execute("SELECT tracklet_id FROM identity_tracklets WHERE identity_id = ?", [identity_id])
        return [int(r[0]) for r in rows]

    def identity_memberships(self) -> list[tuple[int, int, int]]:
        """(identity id, tracklet id, camera id) of every member of every identity, in that order."""
        return self.db.execute(
            "SELECT it.identity_id, it.tracklet_id, t.camera_id FROM identity_tracklets it "
            "JOIN tracklets t ON t.id = it.tracklet_id ORDER BY it.identity_id, it.tracklet_id"
        ).fetchall()

    def new_identity(self, tracklet_ids: list[int], name: str | None = None) -> int:
        """A new identity holding these tracklets, named ``Person <id>`` unless a name is given."""
        with self.label_transaction():
            identity_id = int(self.db["identities"].insert({"name": name or "", "created_at": time.time()}).last_pk)
            if not name:
                self.db["identities"].update(identity_id, {"name": f"Person {identity_id}"})
            self.add_to_identity(identity_id, tracklet_ids)
        return identity_id

    def add_to_identity(self, identity_id: int, tracklet_ids: list[int]) -> None:
        """Put tracklets in an identity (those already in it stay as they are)."""
        self.db["identity_tracklets"].insert_all(
            [{"identity_id": identity_id, "tracklet_id": t} for t in tracklet_ids],
            pk=("identity_id", "tracklet_id"),
            ignore=True,
        )

    def remove_from_identity(self, identity_id: int, tracklet_id: int) -> None:
        self.db.execute(
            "DELETE FROM identity_tracklets WHERE identity_id = ? AND tracklet_id = ?", [identity_id, tracklet_id]
        )

    def set_identity_name(self, identity_id: int, name: str) -> None:
        self.db["identities"].update(identity_id, {"name": name})

    def fold_identity(self, keep: int, other: int) -> None:
        """Move every tracklet of ``other`` into ``keep`` and delete ``other`` (one transaction)."""
        with self.label_transaction():
            self.db.execute(
                "INSERT INTO identity_tracklets (identity_id, tracklet_id) "
                "SELECT ?, tracklet_id FROM identity_tracklets WHERE identity_id = ? ON CONFLICT DO NOTHING",
                [keep, other],
            )
            self.db.execute("DELETE FROM identity_tracklets WHERE identity_id = ?", [other])
            self.db.execute("DELETE FROM identities WHERE id = ?", [other])
