"""The matches panel's content without a window (issue 15 item 3): ``matches_for`` on a real small
workspace (vtest_halves: two cameras, 60 tracklets with the default model's vectors and real crops),
and the pending-videos queue the window keeps in the workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.pipeline import backlog
from app.pipeline.identities import CONFIRMED, REJECTED, confirm_match, reject_match
from app.pipeline.matches import THUMBNAIL_BATCH, matches_for, thumbnail_batches
from app.pipeline.query import QueryOptions, model_choices, query_workspace, set_active_model
from reid_core.store.vector_index import sync_index
from reid_core.workspace import Workspace
from tests.app.people_fixture import vtest_halves_workspace


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("halves") / "ws"
    vtest_halves_workspace(folder)
    return folder


@pytest.fixture
def halves_copy(halves: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(halves, tmp_path / "ws")
    return tmp_path / "ws"


def test_rows_are_the_other_cameras_ranking_with_its_display_text(halves: Path) -> None:
    with Workspace(halves, create=False) as ws:
        query = ws.tracklets()[0]
        found = matches_for(ws, [query.id], QueryOptions(top_k=5))
        expected = query_workspace(ws, [query.id], options=QueryOptions(top_k=5))
        cameras = set(ws.cameras().values())
    assert [row.match for row in found.rows] == expected and len(expected) == 5
    assert len(cameras) == 2 and {row.match.camera for row in found.rows} == cameras - {query.camera}
    sims = [row.match.similarity for row in found.rows]
    assert sims == sorted(sims, reverse=True)
    first = found.rows[0]
    assert first.cells()[:3] == ("1", str(first.match.tracklet_id), first.match.camera)
    assert first.cells()[4] == f"{first.match.similarity:.3f}" and first.cells()[5] == ""
    assert (found.score_header, found.notice, found.not_ready) == ("similarity", "", "")
    assert f"tracklet #{query.id}" in found.heading() and "5 matches" in found.heading()


def test_reranked_rows_show_the_distance_they_are_ordered_by(halves: Path) -> None:
    with Workspace(halves, create=False) as ws:
        query = ws.tracklets()[0]
        found = matches_for(ws, [query.id], QueryOptions(top_k=8, rerank=True))
    distances = [row.match.distance for row in found.rows]
    assert None not in distances and distances == sorted(distances)
    assert found.score_header == "re-ranked distance" and found.rows[0].cells()[4] == f"{distances[0]:.3f}"


def test_verdicts_of_the_persons_identity_mark_the_rows(halves_copy: Path) -> None:
    with Workspace(halves_copy, create=False) as ws:
        query = ws.tracklets()[0]
        rows = matches_for(ws, [query.id], QueryOptions(top_k=6)).rows
        same, other = rows[0].match.tracklet_id, rows[1].match.tracklet_id
        confirm_match(ws, query.id, same)
        reject_match(ws, same, other)  # rejected from another member's query: it holds for the person
        again = matches_for(ws, [query.id], QueryOptions(top_k=6)).rows
    verdicts = {row.match.tracklet_id: row.verdict for row in again}
    assert verdicts[same] == CONFIRMED and verdicts[other] == REJECTED
    assert [v for t, v in verdicts.items() if t not in (same, other)] == [""] * 4


def test_a_query_the_active_model_has_not_embedded_is_not_ready_and_gaps_are_named(halves_copy: Path) -> None:
    with Workspace(halves_copy, create=False) as ws:
        tracklets = ws.tracklets()
        left = [t.id for t in tracklets if t.camera == "plaza-left"]
        right = [t.id for t in tracklets if t.camera == "plaza-right"]
        ws.register_model("partial", "half-done", "nowhere.pt", "omz_reid_0287", 4, {})
        vectors = np.random.default_rng(0).normal(size=(len(left) + 1, 4)).astype(np.float32)
        ws.save_embeddings("partial", [*left, right[0]], vectors)
        set_active_model(ws, "partial")
        sync_index(ws, "partial")
        not_ready = matches_for(ws, [right[1]], QueryOptions())
        partly = matches_for(ws, [left[0]], QueryOptions(top_k=50))
        choices = model_choices(ws)
    assert not_ready.rows == [] and f"#{right[1]} not embedded by model half-done yet" in not_ready.not_ready
    assert [row.match.tracklet_id for row in partly.rows] == [right[0]]  # the only right tracklet it can rank
    assert partly.notice == f"Not yet embedded by half-done, so not searched yet: plaza-right ({len(right) - 1})."
    assert (choices[0].model_id, choices[0].active) == ("partial", True) and len(choices) == 2
    assert choices[0].label == f"half-done ({len(left) + 1} of {len(tracklets)} tracklets, embedding…)"
    assert choices[1].label == f"default (fixture) ({len(tracklets)} tracklets)" and not choices[1].active


def test_thumbnails_come_in_small_batches_of_real_jpegs(halves: Path) -> None:
    with Workspace(halves, create=False) as ws:
        ids = [t.id for t in ws.tracklets()[:19]]
        batches = list(thumbnail_batches(ws, ids))
    assert [len(b) for b in batches] == [THUMBNAIL_BATCH, THUMBNAIL_BATCH, 19 - 2 * THUMBNAIL_BATCH]
    assert [t for b in batches for t, _ in b] == ids
    assert all(jpeg is not None and jpeg[:2] == b"\xff\xd8" for b in batches for _, jpeg in b)


def test_pending_videos_queue_survives_reopening_and_drops_finished_ones(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{n}.avi" for n in "abc")
    with Workspace(tmp_path / "ws") as ws:
        backlog.add_pending(ws, [(a, "north", 10.0), (b, "east", 20.0)])
        backlog.add_pending(ws, [(c, "east", 30.0)])
        backlog.finish_video(ws, a, "running")  # not an outcome: stays queued
        backlog.finish_video(ws, str(b), "failed")
    with Workspace(tmp_path / "ws", create=False) as ws:
        pending = backlog.pending_videos(ws)
        assert [(Path(p.path).name, p.camera, p.start) for p in pending] == [
            ("a.avi", "north", 10.0), ("c.avi", "east", 30.0)
        ]  # fmt: skip
        backlog.finish_video(ws, a, "ingested")
        backlog.finish_video(ws, c, "skipped")
        assert backlog.pending_videos(ws) == []
        assert backlog.take_resume_request(ws) is False
        backlog.remember_to_resume(ws)
        assert backlog.take_resume_request(ws) is True and backlog.take_resume_request(ws) is False
