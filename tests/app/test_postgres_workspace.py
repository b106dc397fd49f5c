"""A workspace on a real PostgreSQL server (started by the test, see tests/postgres_server.py) behaves
like the SQLite one: the same clip ingested and embedded through ``reid`` into both gives the same
tracklets, boxes, crops and embeddings, and ``reid query`` ranks the same; bad locations are one line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.pipeline.events import VideoOutcome, parse_event
from detector.video import cut_clip
from reid_core.errors import EXIT_RESOURCE, ResourceError
from reid_core.store.vector_index import index_folder, open_index
from reid_core.workspace import SCHEMA_VERSION, open_workspace
from resources import DEMO_VIDEO
from tests.conftest import REPO_ROOT
from tests.postgres_server import PostgresServer

FAST_INGEST = ["--min-length", "4"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def both(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(SQLite folder, PostgreSQL URL): 30 frames of the demo footage ingested and embedded into each."""
    folder = tmp_path_factory.mktemp("pg_vs_sqlite")
    clip = cut_clip(folder / "clip.avi", 100, 30, source=DEMO_VIDEO)
    url = postgres_server.create_database("case")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REID_CACHE_DIR", str(folder / "cache"))
        for workspace in (folder / "ws", url):
            assert run("ingest", workspace, clip, "--camera", "north", *FAST_INGEST)[0] == 0
            assert run("embed", workspace, "--device", "cpu")[0] == 0
        yield folder / "ws", url


def test_same_tracklets_boxes_and_crops(both: tuple[Path, str]) -> None:
    folder, url = both
    with open_workspace(folder, create=False) as lite, open_workspace(url, create=False) as pg:
        assert pg.counts() == lite.counts()
        assert lite.counts()["tracklets"] >= 2, "the clip must give tracklets to compare"
        assert pg.tracklets() == lite.tracklets()
        assert [{k: v for k, v in row.items() if k != "added_at"} for row in pg.videos()] == [
            {k: v for k, v in row.items() if k != "added_at"} for row in lite.videos()
        ]
        for tracklet in lite.tracklets():
            assert pg.boxes(tracklet.id) == lite.boxes(tracklet.id)
            assert pg.crops(tracklet.id) == lite.crops(tracklet.id)
            assert pg.thumbnail(tracklet.id) == lite.thumbnail(tracklet.id)


def test_same_embeddings_and_gate_maps(both: tuple[Path, str]) -> None:
    folder, url = both
    with open_workspace(folder, create=False) as lite, open_workspace(url, create=False) as pg:
        model_id = lite.newest_embedded_model()
        assert model_id is not None and pg.newest_embedded_model() == model_id
        assert pg.embedded_counts() == lite.embedded_counts() == {model_id: lite.tracklet_count()}
        lite_ids, lite_vectors = lite.embeddings(model_id)
        pg_ids, pg_vectors = pg.embeddings(model_id)
        np.testing.assert_array_equal(pg_ids, lite_ids)
        np.testing.assert_allclose(pg_vectors, lite_vectors, atol=1e-5)
        frames, maps = pg.gate_maps(int(lite_ids[0]), model_id)
        lite_frames, lite_maps = lite.gate_maps(int(lite_ids[0]), model_id)
        assert frames == lite_frames
        np.testing.assert_allclose(maps.astype(np.float32), lite_maps.astype(np.float32), atol=1e-2)


def test_query_ranks_the_same(both: tuple[Path, str]) -> None:
    folder, url = both
    with open_workspace(folder, create=False) as lite:
        queries = [t.id for t in sorted(lite.tracklets(), key=lambda t: -t.length)[:3]]
    for tracklet_id in queries:
        rankings = []
        for workspace in (folder, url):
            code, out, err = run("query", workspace, tracklet_id, "--top", "10", "--include-own-camera", "--json")
            assert code == 0, err
            rankings.append([(m["tracklet_id"], round(m["similarity"], 4)) for m in json.loads(out)])
        assert rankings[0], "the query must find candidates"
        assert rankings[1] == rankings[0]


def test_vector_index_lives_in_the_local_cache_and_follows_rewrites(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REID_CACHE_DIR", str(tmp_path))
    url = postgres_server.create_database()
    with open_workspace(url) as ws:
        camera = ws.camera_id("east")
        with ws.transaction():
            video = ws.add_video({"camera_id": camera, "path": "v.avi", "content_hash": "h", "frames_processed": 0})
            ids = [
                ws.add_tracklet({"video_id": video, "camera_id": camera, "track_id": n, "length": 1}, [], [])
                for n in range(3)
            ]
        ws.register_model("m", "m", "m.pt", "mobilenet_v2", 2, {})
        ws.save_embeddings("m", ids, np.eye(3, 2, dtype=np.float32))
        index = open_index(ws, "m")
        assert index_folder(ws, "m").is_relative_to(tmp_path)
        assert index.ids.tolist() == ids and ws.vector_stamp("m") == (3, 0)
        ws.save_embeddings("m", [ids[2]], np.array([[0.6, 0.8]], dtype=np.float32))  # a rewrite: rebuilt
        assert ws.vector_stamp("m") == (3, 2)
        np.testing.assert_allclose(open_index(ws, "m", index).vectors[2], [0.6, 0.8])


def test_bad_locations_are_one_line(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.create_database()
    code, _, err = run("query", url, "1")  # an empty database is not created by a reader
    assert code != 0 and err.strip() == f"error: {url}: no workspace here (empty database)"

    with open_workspace(url) as ws:
        ws.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    code, _, err = run("embed", url)
    assert code != 0 and err.startswith(f"error: {url}: workspace schema version {SCHEMA_VERSION + 1}")
    assert "update the program" in err and "Traceback" not in err

    foreign = postgres_server.create_database("foreign")
    import psycopg

    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    code, _, err = run("ingest", foreign, tmp_path / "missing.avi")
    assert code != 0 and "not a re-ID workspace" in err and "Traceback" not in err
    with psycopg.connect(foreign) as conn:  # nothing was added to it
        assert [
            r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ] == ["invoices"]

    closed_port = f"postgresql://reid@127.0.0.1:1/{url.rsplit('/', 1)[1]}"
    code, _, err = run("query", closed_port, "1")
    assert code != 0 and err.startswith(f"error: {closed_port}: cannot connect") and len(err.splitlines()) == 1


def test_a_lost_connection_is_one_line_and_keeps_what_was_committed(postgres_server: PostgresServer) -> None:
    import psycopg

    url = postgres_server.create_database()
    with open_workspace(url) as ws:
        ws.camera_id("north")
        with pytest.raises(ResourceError) as lost, ws.transaction():
            ws.camera_id("south")
            pid = ws.db.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(url, autocommit=True) as admin:  # as if the server or network dropped us
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            ws.camera_id("west")
    message = str(lost.value)
    assert message.startswith(f"{url}: database server failed (") and "\n" not in message
    assert lost.value.exit_code == EXIT_RESOURCE
    with open_workspace(url, create=False) as ws:
        assert ws.cameras() == {1: "north"}  # the unfinished transaction left nothing


def test_two_writers_naming_a_new_camera_share_one_row(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    with open_workspace(url) as first, open_workspace(url, create=False) as second:
        found: list[int] = []
        with first.transaction():
            mine = first.camera_id("gate")  # not committed yet: the other writer cannot see it
            other = threading.Thread(target=lambda: found.append(second.camera_id("gate")))
            other.start()
            other.join(timeout=1.0)
            assert other.is_alive(), "the second writer waits for the first one's transaction"
        other.join(timeout=30)
        assert found == [mine] and second.cameras() == {mine: "gate"}


def test_two_ingest_processes_into_one_workspace_lose_and_duplicate_nothing(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Two `reid ingest` processes at once (another clip each, the same camera) and then both again."""
    url = postgres_server.create_database("shared")
    clips = [cut_clip(tmp_path / f"part{n}.avi", start, 20, source=DEMO_VIDEO) for n, start in enumerate((100, 400))]
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT), "REID_CACHE_DIR": str(tmp_path / "cache")}

    argv = [sys.executable, str(REPO_ROOT / "main.py"), "ingest", url, "--camera", "north", *FAST_INGEST, "--events"]
    processes = [
        subprocess.Popen([*argv[:4], str(clip), *argv[4:]], stdout=subprocess.PIPE, text=True, env=env)
        for clip in clips
    ]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    events = [parse_event(line) for out in outputs for line in out.splitlines()]
    videos = [e for e in events if isinstance(e, VideoOutcome)]
    assert sorted(e.status for e in videos) == ["ingested", "ingested"]
    assert sum(e.tracklets for e in videos) > 0
    code, out, _ = run("ingest", url, *clips, "--camera", "north", *FAST_INGEST)  # again: nothing done twice
    assert code == 0 and out.count(" skipped ") == 2
    with open_workspace(url, create=False) as ws:
        assert ws.cameras() == {1: "north"}
        assert [(v["frames_processed"], v["frame_count"]) for v in ws.videos()] == [(20, 20), (20, 20)]
        assert ws.tracklet_count() == sum(e.tracklets for e in videos)
        spans = [(video, track, start) for _, video, _, track, start, _ in ws.track_spans()]
        assert len(set(spans)) == len(spans)
        assert all(ws.boxes(t.id) and ws.crop_frames(t.id) for t in ws.tracklets())
