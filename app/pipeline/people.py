"""People across cameras: group a workspace's tracklets into proposed people, and the operator's edits.

``propose_people`` reads the active model's vectors (the vector index), the camera pair settings
and the operator's labels (confirmed identities and verdicts: hard constraints), groups the
tracklets (``people_grouping``) and replaces the stored proposals. Accepting a proposal goes
through the identity API (``app.pipeline.identities``), so an accepted person is a confirmed
identity like any other: ``reid finetune`` trains on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from app.pipeline.identities import CONFIRMED, REJECTED, confirm_match, create_identity, identity_of, reject_match
from app.pipeline.people_grouping import GroupingInput, GroupingOptions, Progress, group_tracklets
from app.pipeline.query import active_model_id
from reid_core.store.vector_index import open_index
from reid_core.workspace import Workspace, WorkspaceError

MIN_TRANSITS = 2  # observed transits a camera pair needs before its minimum is trusted


def seconds(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one place tracklet times become the grouping's seconds (today: seconds from the video's
    start time as stored); clock time plugs in here."""
    return np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)


@dataclass(frozen=True)
class PeopleRun:
    model_id: str
    tracklets: int  # grouped (embedded by the model)
    left_out: int  # not embedded by the model: in no proposal
    people: int
    seconds: float


def learned_transits(workspace: Workspace) -> dict[tuple[int, int], float]:
    """{(camera id, camera id) sorted: shortest transit seen} from the confirmed identities: the gap
    between consecutive appearances in two cameras; pairs with fewer than ``MIN_TRANSITS`` are left out."""
    members: dict[int, list[int]] = {}
    for identity, tracklet, _camera in workspace.identity_memberships():
        members.setdefault(int(identity), []).append(int(tracklet))
    rows = workspace.tracklets_by_id(t for group in members.values() for t in group)
    gaps: dict[tuple[int, int], list[float]] = {}
    for group in members.values():
        seen = sorted((rows[t] for t in group if t in rows), key=lambda r: (r.start_time, r.id))
        for before, after in pairwise(seen):
            if before.camera_id != after.camera_id:
                starts, ends = seconds(
                    np.array([before.start_time, after.start_time]), np.array([before.end_time, after.end_time])
                )
                pair = (min(before.camera_id, after.camera_id), max(before.camera_id, after.camera_id))
                gaps.setdefault(pair, []).append(float(starts[1] - ends[0]))
    return {pair: max(min(values), 0.0) for pair, values in gaps.items() if len(values) >= MIN_TRANSITS}


def grouping_input(workspace: Workspace, model_id: str, options: GroupingOptions) -> tuple[np.ndarray, GroupingInput]:
    """(tracklet id per row, what the grouping needs) for every tracklet the model embedded."""
    index = open_index(workspace, model_id)
    ids = np.array(index.ids, dtype=np.int64)
    camera_ids = sorted(workspace.cameras())
    dense = {camera: number for number, camera in enumerate(camera_ids)}
    cameras = np.array([dense[int(c)] for c in index.cameras], dtype=np.int64)
    starts, ends = seconds(index.starts, index.ends)
    overlapping = np.eye(len(camera_ids), dtype=bool)
    for a, b in workspace.overlapping_camera_pairs():
        overlapping[dense[a], dense[b]] = overlapping[dense[b], dense[a]] = True
    transit = np.zeros((len(camera_ids), len(camera_ids)))
    for (a, b), gap in learned_transits(workspace).items():
        transit[dense[a], dense[b]] = transit[dense[b], dense[a]] = gap * options.transit_margin
    row_of = {int(t): row for row, t in enumerate(ids.tolist())}
    must: dict[int, list[int]] = {}
    for identity, tracklet, _camera in workspace.identity_memberships():
        if int(tracklet) in row_of:
            must.setdefault(int(identity), []).append(row_of[int(tracklet)])
    pairs = [[row_of[a], row_of[b]] for a, b in workspace.verdict_pairs(CONFIRMED) if a in row_of and b in row_of]
    cannot = [(row_of[a], row_of[b]) for a, b in workspace.verdict_pairs(REJECTED) if a in row_of and b in row_of]
    vectors = np.ascontiguousarray(index.vectors, dtype=np.float32)
    data = GroupingInput(vectors, cameras, starts, ends, overlapping, transit, [*must.values(), *pairs], cannot)
    return ids, data


def propose_people(
    workspace: Workspace,
    options: GroupingOptions | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> PeopleRun:
    """Group the tracklets and replace the stored proposals (nothing is stored when cancelled)."""
    options = options or GroupingOptions()
    started = time.perf_counter()
    model_id = active_model_id(workspace)
    ids, data = grouping_input(workspace, model_id, options)
    result = group_tracklets(data, options, progress, cancelled)
    groups = [[(int(ids[row]), float(result.member_confidence[row])) for row in group] for group in result.groups]
    workspace.replace_proposals(groups, result.group_confidence, model_id)
    _mark_accepted(workspace)
    total = workspace.tracklet_count()
    return PeopleRun(model_id, len(ids), total - len(ids), len(groups), time.perf_counter() - started)


def _mark_accepted(workspace: Workspace) -> None:
    """A proposal holding exactly a confirmed identity's tracklets is that identity (already accepted)."""
    identities: dict[int, set[int]] = {}
    for identity, tracklet, _camera in workspace.identity_memberships():
        identities.setdefault(int(identity), set()).add(int(tracklet))
    by_members = {frozenset(members): identity for identity, members in identities.items()}
    with workspace.transaction():
        for proposal, members in workspace.proposal_groups().items():
            identity = by_members.get(frozenset(members))
            if identity is not None:
                workspace.set_proposal_identity(proposal, identity)


def _require(workspace: Workspace, proposal_id: int) -> dict[int, float]:
    members = workspace.proposal_members(proposal_id)
    if not members:
        raise WorkspaceError(f"{workspace.path}: no proposed person {proposal_id}")
    return members


def accept_proposal(workspace: Workspace, proposal_id: int) -> int:
    """Confirm the proposal: its tracklets become one confirmed identity (through the identity API:
    each member is confirmed with the most confident one, so identities they were in merge)."""
    members = _require(workspace, proposal_id)
    ranked = sorted(members, key=lambda t: (-members[t], t))
    anchor = ranked[0]
    with workspace.label_transaction():
        identity = identity_of(workspace, anchor)
        for tracklet in ranked[1:]:
            identity = confirm_match(workspace, anchor, tracklet)
        if identity is None:
            identity = create_identity(workspace, [anchor])
        workspace.set_proposal_identity(proposal_id, identity)
    return int(identity)


def split_off(workspace: Workspace, proposal_id: int, tracklet_id: int) -> int:
    """Take one member out into a person of its own, and record the operator's "not the same person"
    (a rejection against the most confident member left) so a new grouping run keeps them apart."""
    members = _require(workspace, proposal_id)
    if tracklet_id not in members:
        raise WorkspaceError(f"{workspace.path}: tracklet {tracklet_id} is not in proposed person {proposal_id}")
    rest = sorted((t for t in members if t != tracklet_id), key=lambda t: (-members[t], t))
    if not rest:
        return proposal_id
    with workspace.label_transaction():
        new_id = workspace.split_off_member(proposal_id, tracklet_id)
        reject_match(workspace, rest[0], tracklet_id)
    return new_id


def merge_proposals(workspace: Workspace, keep: int, other: int) -> int:
    """Fold ``other`` into ``keep`` (the operator says they are one person; nothing is confirmed yet)."""
    if keep == other:
        return keep
    merged = {**_require(workspace, keep), **_require(workspace, other)}
    workspace.fold_proposal(keep, other, float(np.mean(list(merged.values()))))
    return keep


def set_views_overlap(workspace: Workspace, camera_a: str, camera_b: str, overlap: bool) -> None:
    """Set whether two cameras (by name) see some of the same place, so one person may be in both at once."""
    known = {name: camera for camera, name in workspace.cameras().items()}
    for name in (camera_a, camera_b):
        if name not in known:
            raise WorkspaceError(f"{workspace.path}: no camera named {name!r} (known: {', '.join(sorted(known))})")
    if camera_a == camera_b:
        raise WorkspaceError(f"{camera_a}: a camera pair needs two different cameras")
    workspace.set_views_overlap(known[camera_a], known[camera_b], overlap)
