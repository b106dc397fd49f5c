"""Operator verdicts and identities: confirmed matches grow an identity, rejections are kept as labels.

One verdict per (query, candidate) pair, the latest wins. Confirming puts both tracklets in
one identity: a new one, the one either already belongs to, or, when they belong to two
different identities, the two are merged (the operator just said they are the same person).
"""

from __future__ import annotations

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
    return workspace.identity_of(tracklet_id)


def confirm_match(
    workspace: Workspace, query_id: int, match_id: int, similarity: float | None = None, model_id: str | None = None
) -> int:
    """Record the confirmation and return the identity both tracklets now belong to."""
    for tracklet_id in (query_id, match_id):
        workspace.tracklet(tracklet_id)  # raises, naming the workspace, when it does not exist
    with workspace.label_transaction():
        workspace.record_verdict(query_id, match_id, CONFIRMED, similarity, model_id)
        mine, theirs = workspace.identity_of(query_id), workspace.identity_of(match_id)
        if mine is None and theirs is None:
            mine = create_identity(workspace, [query_id])
        elif mine is None:
            mine, theirs = theirs, None
        if theirs is not None and theirs != mine:
            merge_identities(workspace, mine, theirs)
        workspace.add_to_identity(mine, [query_id, match_id])
        workspace.log_label_event(
            "verdict", query_tracklet_id=query_id, match_tracklet_id=match_id, verdict=CONFIRMED,
            similarity=similarity, model_id=model_id, identity_id=mine,
        )
    return int(mine)


def reject_match(
    workspace: Workspace, query_id: int, match_id: int, similarity: float | None = None, model_id: str | None = None
) -> None:
    """Record the rejection; a candidate confirmed earlier into the query's identity leaves it."""
    with workspace.label_transaction():
        workspace.record_verdict(query_id, match_id, REJECTED, similarity, model_id)
        mine = workspace.identity_of(query_id)
        if mine is not None:
            workspace.remove_from_identity(mine, match_id)
        workspace.log_label_event(
            "verdict", query_tracklet_id=query_id, match_tracklet_id=match_id, verdict=REJECTED,
            similarity=similarity, model_id=model_id, identity_id=mine,
        )


def verdicts(workspace: Workspace, query_id: int) -> dict[int, str]:
    return workspace.verdicts(query_id)


def create_identity(workspace: Workspace, tracklet_ids: list[int], name: str | None = None) -> int:
    return workspace.new_identity(tracklet_ids, name)


def rename_identity(workspace: Workspace, identity_id: int, name: str) -> None:
    if not name.strip():
        raise ValueError("an identity needs a non-empty name")
    _require(workspace, identity_id)
    workspace.set_identity_name(identity_id, name.strip())


def merge_identities(workspace: Workspace, keep: int, other: int) -> int:
    """Move every tracklet of ``other`` into ``keep`` and delete ``other``."""
    for identity_id in (keep, other):
        _require(workspace, identity_id)
    if keep == other:
        return keep
    with workspace.label_transaction():
        workspace.fold_identity(keep, other)
        workspace.log_label_event("merge", identity_id=keep, note=f"identity {other} merged into {keep}")
    return keep


def identity_verdicts(workspace: Workspace, tracklet_id: int) -> dict[int, str]:
    """The verdicts that hold for this tracklet's person: a review is of a person, not of one query row.

    Without an identity, the tracklet's own verdicts. With one: every member is ``confirmed``, and a
    candidate rejected from any member's query is ``rejected`` (the latest verdict on it wins)."""
    identity_id = workspace.identity_of(tracklet_id)
    if identity_id is None:
        return workspace.verdicts(tracklet_id)
    members = workspace.identity_members(identity_id)
    decided = {candidate: verdict for candidate, verdict, _ in workspace.verdicts_of_queries(members)}
    decided.update({member: CONFIRMED for member in members})
    decided.pop(tracklet_id, None)
    return decided


def identities(workspace: Workspace) -> list[Identity]:
    result = []
    for identity_id, name in workspace.identity_names():
        members = appearances(workspace, identity_id)
        cameras = tuple(sorted({t.camera for t in members}))
        result.append(Identity(identity_id, name, tuple(t.id for t in members), cameras))
    return result


def appearances(workspace: Workspace, identity_id: int) -> list[TrackletRow]:
    """The identity's tracklets in time order."""
    members = workspace.tracklets_by_id(workspace.identity_members(identity_id)).values()
    return sorted(members, key=lambda t: (t.start_time, t.camera, t.id))


def _require(workspace: Workspace, identity_id: int) -> None:
    if workspace.identity_name(identity_id) is None:
        raise WorkspaceError(f"{workspace.path}: no identity {identity_id}")
