"""Operator verdicts and identities: confirmed matches grow an identity, rejections are kept as labels.

One verdict per (query, candidate) pair, the latest wins. Confirming puts both tracklets in
one identity: a new one, the one either already belongs to, or, when they belong to two
different identities, the two are merged (the operator just said they are the same person).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from reid_core.workspace import TrackletRow, Workspace, WorkspaceError

CONFIRMED, REJECTED = "confirmed", "rejected"


@dataclass(frozen=True)
class Identity:
    id: int
    name: str
    tracklet_ids: tuple[int, ...]
    cameras: tuple[str, ...]


def identity_of(workspace: Workspace, tracklet_id: int) -> int | None:
    row = workspace.db.execute(
        "SELECT identity_id FROM identity_tracklets WHERE tracklet_id = ? ORDER BY identity_id LIMIT 1", [tracklet_id]
    ).fetchone()
    return int(row[0]) if row else None


def _record_verdict(
    workspace: Workspace, query_id: int, match_id: int, verdict: str, similarity: float | None, model_id: str | None
) -> None:
    workspace.db.execute(
        "DELETE FROM matches WHERE query_tracklet_id = ? AND match_tracklet_id = ?", [query_id, match_id]
    )
    workspace.db["matches"].insert(
        {
            "query_tracklet_id": query_id,
            "match_tracklet_id": match_id,
            "verdict": verdict,
            "similarity": similarity,
            "model_id": model_id,
            "created_at": time.time(),
        }
    )


def confirm_match(
    workspace: Workspace, query_id: int, match_id: int, similarity: float | None = None, model_id: str | None = None
) -> int:
    """Record the confirmation and return the identity both tracklets now belong to."""
    for tracklet_id in (query_id, match_id):
        workspace.tracklet(tracklet_id)  # raises, naming the workspace, when it does not exist
    with workspace.db.atomic():
        _record_verdict(workspace, query_id, match_id, CONFIRMED, similarity, model_id)
        mine, theirs = identity_of(workspace, query_id), identity_of(workspace, match_id)
        if mine is None and theirs is None:
            mine = create_identity(workspace, [query_id])
        elif mine is None:
            mine, theirs = theirs, None
        if theirs is not None and theirs != mine:
            merge_identities(workspace, mine, theirs)
        for tracklet_id in (query_id, match_id):
            workspace.db["identity_tracklets"].insert(
                {"identity_id": mine, "tracklet_id": tracklet_id}, pk=("identity_id", "tracklet_id"), ignore=True
            )
    return int(mine)  # type: ignore[arg-type]


def reject_match(
    workspace: Workspace, query_id: int, match_id: int, similarity: float | None = None, model_id: str | None = None
) -> None:
    """Record the rejection; a candidate confirmed earlier into the query's identity leaves it."""
    with workspace.db.atomic():
        _record_verdict(workspace, query_id, match_id, REJECTED, similarity, model_id)
        mine = identity_of(workspace, query_id)
        if mine is not None:
            workspace.db.execute(
                "DELETE FROM identity_tracklets WHERE identity_id = ? AND tracklet_id = ?", [mine, match_id]
            )


def verdicts(workspace: Workspace, query_id: int) -> dict[int, str]:
    rows = workspace.db.execute(
        "SELECT match_tracklet_id, verdict FROM matches WHERE query_tracklet_id = ?", [query_id]
    ).fetchall()
    return {int(m): str(v) for m, v in rows}


def create_identity(workspace: Workspace, tracklet_ids: list[int], name: str | None = None) -> int:
    with workspace.db.atomic():
        identity_id = int(workspace.db["identities"].insert({"name": name or "", "created_at": time.time()}).last_pk)
        if not name:
            workspace.db["identities"].update(identity_id, {"name": f"Person {identity_id}"})
        workspace.db["identity_tracklets"].insert_all(
            [{"identity_id": identity_id, "tracklet_id": t} for t in tracklet_ids], ignore=True
        )
    return identity_id


def rename_identity(workspace: Workspace, identity_id: int, name: str) -> None:
    if not name.strip():
        raise ValueError("an identity needs a non-empty name")
    _require(workspace, identity_id)
    workspace.db["identities"].update(identity_id, {"name": name.strip()})


def merge_identities(workspace: Workspace, keep: int, other: int) -> int:
    """Move every tracklet of ``other`` into ``keep`` and delete ``other``."""
    for identity_id in (keep, other):
        _require(workspace, identity_id)
    if keep == other:
        return keep
    with workspace.db.atomic():
        workspace.db.execute(
            "INSERT OR IGNORE INTO identity_tracklets (identity_id, tracklet_id) "
            "SELECT ?, tracklet_id FROM identity_tracklets WHERE identity_id = ?",
            [keep, other],
        )
        workspace.db.execute("DELETE FROM identity_tracklets WHERE identity_id = ?", [other])
        workspace.db.execute("DELETE FROM identities WHERE id = ?", [other])
    return keep


def identities(workspace: Workspace) -> list[Identity]:
    result = []
    for identity_id, name in workspace.db.execute("SELECT id, name FROM identities ORDER BY id").fetchall():
        members = appearances(workspace, identity_id)
        cameras = tuple(sorted({t.camera for t in members}))
        result.append(Identity(int(identity_id), str(name), tuple(t.id for t in members), cameras))
    return result


def appearances(workspace: Workspace, identity_id: int) -> list[TrackletRow]:
    """The identity's tracklets in time order."""
    ids = [
        r[0]
        for r in workspace.db.execute(
            "SELECT tracklet_id FROM identity_tracklets WHERE identity_id = ?", [identity_id]
        ).fetchall()
    ]
    return sorted((workspace.tracklet(t) for t in ids), key=lambda t: (t.start_time, t.camera, t.id))


def _require(workspace: Workspace, identity_id: int) -> None:
    if workspace.db.execute("SELECT 1 FROM identities WHERE id = ?", [identity_id]).fetchone() is None:
        raise WorkspaceError(f"{workspace.path}: no identity {identity_id}")
