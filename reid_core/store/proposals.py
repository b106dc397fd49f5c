"""Proposed people (groups of tracklets the grouping suggests) and per camera pair settings.

Proposals are kept apart from the identities the operator confirmed (``labels``): a new grouping
run replaces every proposal at once, while identities change only by the operator's hand. The
rules (how proposals are made, what accepting does) live in ``app.pipeline.people``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from reid_core.store.base import StoreBase


@dataclass(frozen=True)
class ProposalSummary:
    """One proposed person as a list row shows it."""

    id: int
    confidence: float
    identity_id: int | None  # the confirmed identity it was accepted into
    tracklets: int
    cameras: tuple[str, ...]
    first_seen: float  # seconds, the earliest member's start
    last_seen: float  # seconds, the latest member's end


class ProposalStore(StoreBase):
    # -- a grouping run -----------------------------------------------------------------------
    def replace_proposals(self, groups: list[list[tuple[int, float]]], confidences: list[float], model_id: str) -> None:
        """Replace all proposals by these groups ((tracklet id, member confidence) lists), in one transaction."""
        now = time.time()
        with self.db.atomic():
            self.db.execute("DELETE FROM proposal_members")
            self.db.execute("DELETE FROM proposals")
            self.db.conn.executemany(
                "INSERT INTO proposals (id, confidence, identity_id, model_id, created_at) VALUES (?, ?, NULL, ?, ?)",
                [(number + 1, float(c), model_id, now) for number, c in enumerate(confidences)],
            )
            self.db.conn.executemany(
                "INSERT INTO proposal_members (tracklet_id, proposal_id, confidence) VALUES (?, ?, ?)",
                [(int(t), number + 1, float(c)) for number, group in enumerate(groups) for t, c in group],
            )

    # -- reading ------------------------------------------------------------------------------
    def proposal_summaries(self) -> list[ProposalSummary]:
        """Every proposal with its counts, cameras and time span, by id (two statements)."""
        names = dict(self.db.execute("SELECT id, name FROM cameras").fetchall())
        cameras: dict[int, list[str]] = {}
        for proposal, camera in self.db.execute(
            "SELECT DISTINCT m.proposal_id, t.camera_id FROM proposal_members m "
            "JOIN tracklets t ON t.id = m.tracklet_id"
        ):
            cameras.setdefault(int(proposal), []).append(str(names[camera]))
        rows = self.db.execute(
            "SELECT p.id, p.confidence, p.identity_id, COUNT(m.tracklet_id), MIN(t.start_time), MAX(t.end_time) "
            "FROM proposals p JOIN proposal_members m ON m.proposal_id = p.id "
            "JOIN tracklets t ON t.id = m.tracklet_id GROUP BY p.id ORDER BY p.id"
        ).fetchall()
        return [
            ProposalSummary(
                int(i),
                float(c),
                None if ident is None else int(ident),
                int(n),
                tuple(sorted(cameras.get(int(i), []))),
                float(first),
                float(last),
            )
            for i, c, ident, n, first, last in rows
        ]

    def proposal_members(self, proposal_id: int) -> dict[int, float]:
        """{tracklet id: member confidence} of one proposal."""
        rows = self.db.execute(
            "SELECT tracklet_id, confidence FROM proposal_members WHERE proposal_id = ? ORDER BY tracklet_id",
            [proposal_id],
        ).fetchall()
        return {int(t): float(c) for t, c in rows}

    def proposal_of(self, tracklet_id: int) -> int | None:
        row = self.db.execute(
            "SELECT proposal_id FROM proposal_members WHERE tracklet_id = ?", [tracklet_id]
        ).fetchone()
        return int(row[0]) if row else None

    def proposal_groups(self) -> dict[int, list[int]]:
        """{proposal id: member tracklet ids} of every proposal."""
        groups: dict[int, list[int]] = {}
        for proposal, tracklet in self.db.execute(
            "SELECT proposal_id, tracklet_id FROM proposal_members ORDER BY proposal_id, tracklet_id"
        ):
            groups.setdefault(int(proposal), []).append(int(tracklet))
        return groups

    def proposal_exists(self, proposal_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM proposals WHERE id = ?", [proposal_id]).fetchone() is not None

    # -- the operator's edits -------------------------------------------------------------------
    def split_off_member(self, proposal_id: int, tracklet_id: int) -> int:
        """Move one member into a new proposal of its own; returns the new proposal's id."""
        with self.db.atomic():
            confidence = self.db.execute(
                "SELECT confidence FROM proposal_members WHERE proposal_id = ? AND tracklet_id = ?",
                [proposal_id, tracklet_id],
            ).fetchone()[0]
            new_id = int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM proposals").fetchone()[0])
            model_id = self.db.execute("SELECT model_id FROM proposals WHERE id = ?", [proposal_id]).fetchone()[0]
            self.db.execute(
                "INSERT INTO proposals (id, confidence, identity_id, model_id, created_at) VALUES (?, ?, NULL, ?, ?)",
                [new_id, confidence, model_id, time.time()],
            )
            self.db.execute("UPDATE proposal_members SET proposal_id = ? WHERE tracklet_id = ?", [new_id, tracklet_id])
            self.db.execute("UPDATE proposals SET identity_id = NULL WHERE id = ?", [proposal_id])
        return new_id

    def fold_proposal(self, keep: int, other: int, confidence: float) -> None:
        """Move every member of ``other`` into ``keep`` and delete ``other`` (one transaction)."""
        with self.db.atomic():
            self.db.execute("UPDATE proposal_members SET proposal_id = ? WHERE proposal_id = ?", [keep, other])
            self.db.execute("DELETE FROM proposals WHERE id = ?", [other])
            self.db.execute("UPDATE proposals SET confidence = ?, identity_id = NULL WHERE id = ?", [confidence, keep])

    def set_proposal_identity(self, proposal_id: int, identity_id: int) -> None:
        self.db.execute("UPDATE proposals SET identity_id = ? WHERE id = ?", [identity_id, proposal_id])

    # -- camera pairs ---------------------------------------------------------------------------
    def set_views_overlap(self, camera_a: int, camera_b: int, overlap: bool) -> None:
        """Whether one person may be seen by both cameras at the same instant (their views overlap)."""
        low, high = sorted((int(camera_a), int(camera_b)))
        self.db["camera_pairs"].upsert(
            {"camera_a": low, "camera_b": high, "views_overlap": int(overlap)}, pk=("camera_a", "camera_b")
        )

    def overlapping_camera_pairs(self) -> set[tuple[int, int]]:
        """(lower camera id, higher camera id) of every pair whose views overlap."""
        rows = self.db.execute("SELECT camera_a, camera_b FROM camera_pairs WHERE views_overlap = 1")
        return {(int(a), int(b)) for a, b in rows}

    # -- verdicts as constraints ---------------------------------------------------------------
    def verdict_pairs(self, verdict: str) -> list[tuple[int, int]]:
        """(query, candidate) tracklet pairs the operator gave this verdict."""
        rows = self.db.execute("SELECT query_tracklet_id, match_tracklet_id FROM matches WHERE verdict = ?", [verdict])
        return [(int(a), int(b)) for a, b in rows]
