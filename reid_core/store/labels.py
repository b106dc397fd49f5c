"""Operator verdicts on (query, candidate) pairs and identities (groups of tracklets of one person).

The rules (what confirming or rejecting does to identities) live in ``app.pipeline.identities``;
this part only reads and writes the rows.
"""

from __future__ import annotations

import time

from reid_core.store.base import StoreBase


class LabelStore(StoreBase):
    # -- verdicts -------------------------------------------------------------------------
    def record_verdict(
        self, query_id: int, match_id: int, verdict: str, similarity: float | None, model_id: str | None
    ) -> None:
        """One verdict per (query, candidate) pair: the latest replaces an earlier one."""
        with self.db.atomic():
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
        with self.db.atomic():
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
        with self.db.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO identity_tracklets (identity_id, tracklet_id) "
                "SELECT ?, tracklet_id FROM identity_tracklets WHERE identity_id = ?",
                [keep, other],
            )
            self.db.execute("DELETE FROM identity_tracklets WHERE identity_id = ?", [other])
            self.db.execute("DELETE FROM identities WHERE id = ?", [other])
