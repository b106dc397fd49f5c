"""Ingest and embed on a real local Ray cluster (2 worker slots) into a real PostgreSQL server
(tests/postgres_server.py): the same rows as a local run into SQLite, two runs at once lose and
duplicate nothing, and a worker killed mid-video leaves a workspace that a re-run completes exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.pipeline.cluster import ingest_on_cluster
from app.pipeline.ingest import ingest_videos
from app.pipeline.ingest_progress import load_progress
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.workspace import Workspace, open_workspace
from resources import DEMO_VIDEO
from tests.app.test_postgres_workspace import run
from tests.postgres_server import PostgresServer

FAST = TrackletParams(min_length=4)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A local Ray with two worker slots for the module; the commands under test reuse it."""
    ray = pytest.importorskip("ray", reason="needs Ray (pip install '.[cluster]')")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REID_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))  # the workers inherit it
        # address="local": a new Ray of its own, never one `ray start` left on the machine (it would be
        # joined, and num_cpus refused)
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        try:
            yield ray
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two cameras: 24 frames each of two moments of the demo footage."""
    folder = tmp_path_factory.mktemp("cluster_clips")
    return [
        cut_clip(folder / f"{name}.avi", start, 24, source=DEMO_VIDEO)
        for name, start in (("north", 100), ("south", 400))
    ]


@pytest.fixture(scope="module")
def local_and_ray(
    ray_cluster: object, postgres_server: PostgresServer, clips: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """(SQLite folder ingested and embedded here, PostgreSQL URL ingested and embedded on Ray)."""
    folder = tmp_path_factory.mktemp("local") / "ws"
    url = postgres_server.create_database("ray")
    # The local run stays in this process (--jobs 1), which has started Ray: a fresh process's
    # tracker gave boxes up to 0.65 px apart on one tracklet (process-wide state Ray sets; not traced).
    for workspace, cluster in ((folder, []), (url, ["--cluster", "auto"])):
        code, _, err = run("ingest", workspace, *clips, "--min-length", "4", *(cluster or ["--jobs", "1"]))
        assert code == 0, err
        code, out, err = run("embed", workspace, "--device", "onnx", *cluster)
        assert code == 0 and "embedded" in out, err
    return folder, url


def by_key(workspace: Workspace) -> dict[tuple[str, int, int], dict]:
    """Each tracklet by (camera, track id, first frame) — ids depend on which video committed first —
    with its boxes and its tracklet id."""
    return {
        (t.camera, t.track_id, t.start_frame): {
            "id": t.id,
            "length": t.length,
            "end": t.end_frame,
            "boxes": [{k: v for k, v in box.items() if k != "tracklet_id"} for box in workspace.boxes(t.id)],
        }
        for t in workspace.tracklets()
    }


def without_ids(tracklets: dict) -> dict:
    return {key: {k: v for k, v in row.items() if k != "id"} for key, row in tracklets.items()}


def assert_same_tracklets(found: dict, expected: dict) -> None:
    """The same tracklets (keys, lengths, frames, scores) with boxes equal to 0.05 px: the detector's
    float sums depend on how many threads it runs on, which differs between a worker and this process."""
    found, expected = without_ids(found), without_ids(expected)
    assert found.keys() == expected.keys()
    for key, row in expected.items():
        assert {k: v for k, v in found[key].items() if k != "boxes"} == {k: v for k, v in row.items() if k != "boxes"}
        assert [b["frame"] for b in found[key]["boxes"]] == [b["frame"] for b in row["boxes"]], key
        corners = lambda boxes: np.array([[b[c] for c in ("x1", "y1", "x2", "y2")] for b in boxes])  # noqa: E731
        np.testing.assert_allclose(corners(found[key]["boxes"]), corners(row["boxes"]), atol=0.05, err_msg=str(key))


def test_ray_into_postgres_gives_what_a_local_run_gives_in_sqlite(local_and_ray: tuple[Path, str]) -> None:
    folder, url = local_and_ray
    with open_workspace(folder, create=False) as lite, open_workspace(url, create=False) as pg:
        lite_rows, pg_rows = by_key(lite), by_key(pg)
        assert len(lite_rows) >= 4 and {k[0] for k in lite_rows} == {"north", "south"}
        assert_same_tracklets(pg_rows, lite_rows)
        assert pg.counts() == lite.counts()
        model_id = lite.newest_embedded_model()
        assert pg.embedded_counts() == lite.embedded_counts() == {model_id: len(lite_rows)}
        lite_vectors = dict(zip(*lite.embeddings(model_id)))
        pg_vectors = dict(zip(*pg.embeddings(model_id)))
        for key, row in lite_rows.items():
            np.testing.assert_allclose(pg_vectors[pg_rows[key]["id"]], lite_vectors[row["id"]], atol=1e-5)
        pg_id_of = {row["id"]: pg_rows[key]["id"] for key, row in lite_rows.items()}
        queries = [row["id"] for row in sorted(lite_rows.values(), key=lambda r: -r["length"])[:2]]
    for query in queries:
        rankings = []
        for workspace, tracklet in ((folder, query), (url, pg_id_of[query])):
            code, out, err = run("query", workspace, tracklet, "--top", "10", "--include-own-camera", "--json")
            assert code == 0, err
            rankings.append([(m["tracklet_id"], round(m["similarity"], 4)) for m in json.loads(out)])
        assert rankings[0], "the query must find candidates"
        assert rankings[1] == [(pg_id_of[t], s) for t, s in rankings[0]]


def test_progress_within_each_video_comes_back_from_the_workers(
    local_and_ray: tuple[Path, str], postgres_server: PostgresServer, clips: list[Path]
) -> None:
    """As a local ingest: the bars move frame by frame while the workers run, not only at each video's end."""
    seen: dict[Path, list[tuple[int, int]]] = {clip: [] for clip in clips}
    with open_workspace(postgres_server.create_database("progress")) as workspace:
        ingest_on_cluster(workspace, clips, tracklet_params=FAST, progress=lambda v, d, t: seen[v].append((d, t)))
    for clip, reports in seen.items():
        done = [d for d, _ in reports]
        assert done == sorted(done) and done[-1] == 24, (clip, reports)
        assert {t for _, t in reports} == {24}
        assert len([d for d in done if 0 < d < 24]) >= 20, (clip, reports)  # every frame, from the worker


def test_two_runs_on_the_cluster_at_once_lose_and_duplicate_nothing(
    local_and_ray: tuple[Path, str], postgres_server: PostgresServer, clips: list[Path]
) -> None:
    """Both runs send both videos: each video is ingested by one task and found finished by the other."""
    url = postgres_server.create_database("twice")
    outcomes: list[list] = []

    def one_run() -> None:
        with open_workspace(url) as workspace:
            outcomes.append(ingest_on_cluster(workspace, clips, tracklet_params=FAST))

    runs = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=600)
    assert len(outcomes) == 2
    for index in range(len(clips)):
        assert sorted(run[index].status for run in outcomes) == ["ingested", "skipped"]
    with open_workspace(local_and_ray[1], create=False) as clean, open_workspace(url, create=False) as ws:
        assert_same_tracklets(by_key(ws), by_key(clean))
        assert ws.counts() == clean.counts() | {"embeddings": 0, "models": 0}
        assert [(v["frames_processed"], v["frame_count"]) for v in ws.videos()] == [(24, 24), (24, 24)]


def _ingest_reporting_pid(url: str, video: str, report: str) -> None:
    """A Ray task: ingest one video, writing ``pid frames_done`` after each frame."""

    def progress(_: Path, done: int, total: int) -> None:
        Path(report).write_text(f"{os.getpid()} {done}")

    with open_workspace(url) as workspace:
        ingest_videos(workspace, [video], tracklet_params=FAST, progress=progress)


def test_a_worker_killed_mid_video_leaves_a_workspace_a_rerun_completes_exactly_once(
    local_and_ray: tuple[Path, str], postgres_server: PostgresServer, clips: list[Path], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    url, clip, report = postgres_server.create_database("killed"), clips[0], tmp_path / "report"
    task = ray.remote(_ingest_reporting_pid).options(num_cpus=1, max_retries=0)
    ref = task.remote(url, str(clip), str(report))
    deadline = time.monotonic() + 300
    while not (report.exists() and report.read_text() and int(report.read_text().split()[1]) >= 5):
        assert time.monotonic() < deadline, "the task never got going"
        time.sleep(0.02)
    pid, done = map(int, report.read_text().split())
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ray.exceptions.RayError):
        ray.get(ref, timeout=120)
    assert done < 24, "the kill must land mid-video"
    with open_workspace(url, create=False) as ws:
        [video] = ws.videos()
        assert load_progress(ws, video["id"]) is not None, "the killed video is left unfinished"
        [outcome] = ingest_on_cluster(ws, [clip], tracklet_params=FAST)  # its claim went with the dead worker
        assert outcome.status == "ingested"
    with open_workspace(local_and_ray[1], create=False) as clean, open_workspace(url, create=False) as ws:
        expected = {k: v for k, v in by_key(clean).items() if k[0] == "north"}
        assert_same_tracklets(by_key(ws), expected)
        assert load_progress(ws, ws.videos()[0]["id"]) is None and ws.videos()[0]["frames_processed"] == 24


def _worker_running(function: str) -> int | None:
    """The pid of a Ray worker running ``function`` now (Ray titles it ``ray::NAME``)."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(f"ray::{function}".encode()):
                return int(proc.name)
    return None


def test_ray_runs_a_killed_workers_video_again_and_it_ends_up_exactly_once(
    local_and_ray: tuple[Path, str], postgres_server: PostgresServer, clips: list[Path]
) -> None:
    url = postgres_server.create_database("retried")
    outcomes = []
    with open_workspace(url) as workspace:
        run = threading.Thread(
            target=lambda: outcomes.extend(ingest_on_cluster(workspace, clips[1:], tracklet_params=FAST))
        )
        run.start()
        with open_workspace(url) as watcher:
            deadline = time.monotonic() + 300
            while not (watcher.videos() and (pid := _worker_running("_ingest_task"))):
                assert time.monotonic() < deadline, "the task never got going"
                time.sleep(0.05)
            assert load_progress(watcher, watcher.videos()[0]["id"]) is not None, "the kill must land mid-video"
            os.kill(pid, signal.SIGKILL)
        run.join(timeout=300)
    assert [o.status for o in outcomes] == ["ingested"]
    with open_workspace(local_and_ray[1], create=False) as clean, open_workspace(url, create=False) as ws:
        assert_same_tracklets(by_key(ws), {k: v for k, v in by_key(clean).items() if k[0] == "south"})
        assert [(v["frames_processed"], v["frame_count"]) for v in ws.videos()] == [(24, 24)]


def test_a_claimed_video_waits_for_its_writer(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("claim")
    with open_workspace(url) as first, open_workspace(url, create=False) as second:
        entered = threading.Event()

        def claim_second() -> None:
            with second.claim_video("abc"):
                entered.set()

        with first.claim_video("abc"):
            waiter = threading.Thread(target=claim_second)
            waiter.start()
            assert not entered.wait(1.0), "the second writer waits while the first holds the video"
        assert entered.wait(30), "the second writer gets the video once the first is done"
        waiter.join()


def test_a_folder_workspace_is_not_sent_to_a_remote_cluster(tmp_path: Path) -> None:
    code, _, err = run("ingest", tmp_path / "ws", DEMO_VIDEO, "--cluster", "10.0.0.9:6379")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'ws'}: a workspace folder cannot be shared with the Ray cluster")


def test_the_windows_jobs_run_on_the_cluster_set_in_the_workspace_settings(
    clips: list[Path], tmp_path: Path, window, qtbot
) -> None:
    """Settings → "Ingest and embed on" = auto: the window's background ingest and embed jobs are
    ``reid … --cluster auto`` child processes (each starts its own local Ray) and fill the workspace."""
    pytest.importorskip("ray", reason="needs Ray (pip install '.[cluster]')")
    from app.gui.dialogs import SettingsDialog
    from app.pipeline.settings import load_settings, save_settings

    assert window.open_workspace(tmp_path / "ws")
    dialog = SettingsDialog(load_settings(window.workspace), window)
    dialog.cluster.setText(" auto ")
    save_settings(window.workspace, dialog.settings())
    finished: list[tuple[list[str], bool, str]] = []
    window.jobs.finished.connect(lambda job, ok, error: finished.append((job.args, ok, error)))
    with qtbot.waitSignal(window.jobs.idle, timeout=300_000):
        window.add_videos(clips[:1], cameras=["north"], start_times=[0.0])
    assert [(args[0], args[-2:], ok, error) for args, ok, error in finished] == [
        ("ingest", ["--cluster", "auto"], True, ""),
        ("embed", ["--cluster", "auto"], True, ""),
    ]
    with open_workspace(tmp_path / "ws", create=False) as ws:
        assert ws.tracklet_count() > 0 and not ws.any_unembedded()
        assert load_settings(ws).cluster == "auto"
