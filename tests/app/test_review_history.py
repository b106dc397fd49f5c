"""Identity-level verdicts and undo/redo on a real SQLite workspace (rules only: no video, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pipeline.identities import (
    confirm_match,
    identities,
    identity_verdicts,
    merge_identities,
    reject_match,
    rename_identity,
)
from app.pipeline.review_history import ReviewHistory
from reid_core.workspace import Workspace, WorkspaceError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    cameras = [workspace.camera_id(name) for name in ("east", "west")]
    videos = [workspace.add_video({"camera_id": c, "path": f"/v{c}.avi", "content_hash": f"h{c}", "fps": 10.0,
                                   "frame_count": 10, "width": 8, "height": 8, "start_time": 0.0,
                                   "frames_processed": 10, "params": "{}", "added_at": 0.0}) for c in cameras]
    rows = [{"id": i, "video_id": videos[i % 2], "camera_id": cameras[i % 2], "track_id": i, "start_frame": 0,
             "end_frame": 5, "start_time": 0.0, "end_time": 0.5, "length": 5} for i in range(1, 9)]
    workspace.add_tracklets(rows)
    yield workspace
    workspace.close()


def test_verdicts_belong_to_the_person_not_to_one_query_row(ws: Workspace) -> None:
    confirm_match(ws, 1, 2)  # 1 (east) and 2 (west) are one person
    reject_match(ws, 2, 4)  # from the west member's query, 4 is someone else
    assert identity_verdicts(ws, 1) == {2: "confirmed", 4: "rejected"}  # seen from the east member too
    assert identity_verdicts(ws, 2) == {1: "confirmed", 4: "rejected"}
    confirm_match(ws, 1, 4)  # the latest verdict on 4 wins
    assert identity_verdicts(ws, 2) == {1: "confirmed", 4: "confirmed"}
    assert identity_verdicts(ws, 6) == {}


def test_undo_and_redo_put_verdicts_and_merges_back_exactly(ws: Workspace) -> None:
    history = ReviewHistory()
    empty = ws.label_snapshot()
    history.record(ws, "confirm 2 for 1", lambda: confirm_match(ws, 1, 2))
    history.record(ws, "confirm 4 for 3", lambda: confirm_match(ws, 3, 4))
    two_people = ws.label_snapshot()
    first, second = (i.id for i in identities(ws))
    history.record(ws, "merge", lambda: merge_identities(ws, first, second))
    assert [sorted(i.tracklet_ids) for i in identities(ws)] == [[1, 2, 3, 4]]
    assert history.undo(ws) == "merge"
    assert ws.label_snapshot() == two_people and len(identities(ws)) == 2
    assert history.redo(ws) == "merge" and len(identities(ws)) == 1
    assert [history.undo(ws) for _ in range(3)] == ["merge", "confirm 4 for 3", "confirm 2 for 1"]
    assert ws.label_snapshot() == empty and history.undo(ws) is None
    actions = [e["action"] for e in ws.label_log()]
    assert actions == ["verdict", "verdict", "merge", "undo", "redo", "undo", "undo", "undo"]  # history is kept


def test_undo_refuses_to_overwrite_labels_written_elsewhere(ws: Workspace) -> None:
    history = ReviewHistory()
    history.record(ws, "confirm", lambda: confirm_match(ws, 1, 2))
    reject_match(ws, 5, 6)  # another window or the CLI, outside this history
    with pytest.raises(WorkspaceError, match="changed outside this window"):
        history.undo(ws)
    assert ws.verdicts(5) == {6: "rejected"} and ws.verdicts(1) == {2: "confirmed"}


def members(ws: Workspace) -> list[list[int]]:
    return sorted(sorted(i.tracklet_ids) for i in identities(ws))


def test_confirming_grows_an_identity_and_joins_two_into_one(ws: Workspace) -> None:
    first = confirm_match(ws, 1, 2)
    assert confirm_match(ws, 3, 2) == first  # the match's identity takes the query in
    second = confirm_match(ws, 5, 6)
    assert second != first and members(ws) == [[1, 2, 3], [5, 6]]
    assert confirm_match(ws, 6, 1) == second  # the query's identity is kept, the other folded into it
    assert members(ws) == [[1, 2, 3, 5, 6]] and [i.id for i in identities(ws)] == [second]
    assert identities(ws)[0].cameras == ("east", "west")
    assert confirm_match(ws, 1, 2) == second and members(ws) == [[1, 2, 3, 5, 6]]  # again: nothing new


def test_rejecting_a_member_takes_it_out_and_keeps_the_label(ws: Workspace) -> None:
    confirm_match(ws, 1, 2)
    confirm_match(ws, 1, 3)
    reject_match(ws, 2, 3)  # from another member's query: 3 leaves the person
    assert members(ws) == [[1, 2]] and ws.verdicts(2) == {3: "rejected"}
    reject_match(ws, 7, 8)  # no identity involved: only the label is stored
    assert members(ws) == [[1, 2]] and ws.verdicts(7) == {8: "rejected"}


def test_bad_ids_and_names_are_refused_and_change_nothing(ws: Workspace) -> None:
    first = confirm_match(ws, 1, 2)
    before = ws.label_snapshot()
    with pytest.raises(WorkspaceError):
        confirm_match(ws, 1, 99)  # no such tracklet
    with pytest.raises(WorkspaceError, match="no identity 42"):
        merge_identities(ws, first, 42)
    with pytest.raises(ValueError, match="non-empty name"):
        rename_identity(ws, first, "   ")
    assert ws.label_snapshot() == before
    assert merge_identities(ws, first, first) == first and ws.label_snapshot() == before
    rename_identity(ws, first, "  Suspect A ")
    assert [i.name for i in identities(ws)] == ["Suspect A"]
