"""Training on a shared PostgreSQL case (a real server started by the tests, see tests/postgres_server.py):
``reid finetune`` and ``reid adapt`` keep the model in this machine's cache of the case, register it on
the server by its content digest, and another machine (another ``REID_CACHE_DIR``) without the file
refuses to embed or train from it in one line until the file is copied there. The window's retrain
runs the same command in the background.

Two short cameras are ingested and embedded into a database once per module, with two identities
confirmed; each test works on a copy of that database. Tiny settings: one epoch of two iterations.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from app.gui.main_window import MainWindow
from app.pipeline.embed import embed_workspace, register_checkpoint
from app.pipeline.identities import confirm_match, identities
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import active_model_id, set_active_model
from app.pipeline.unfinished_runs import SERVER_MARKER, discard_killed_runs
from detector.params import TrackletParams
from detector.video import cut_clip
from reid_core.checkpoint import file_digest, model_from_checkpoint, read_checkpoint, save_checkpoint
from reid_core.workspace import open_workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO
from tests.app.test_postgres_workspace import run
from tests.postgres_server import PostgresServer

FINETUNE = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=2", "frames_per_clip=2"]
FINETUNE += ["ids_per_batch=2"]
ADAPT = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=2", "batch_size=4", "clip_length=2"]
ADAPT += ["crops_per_tracklet=4", "check=self"]
CAMERAS = (("east", 100), ("west", 400))


@pytest.fixture(scope="module")
def labelled_case(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a database with two cameras ingested and embedded, and two confirmed identities."""
    folder = tmp_path_factory.mktemp("pg_training")
    clips = [cut_clip(folder / f"{name}.avi", start, 24, source=DEMO_VIDEO) for name, start in CAMERAS]
    url = postgres_server.create_database("training")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REID_CACHE_DIR", str(folder / "cache"))
        with open_workspace(url) as ws:
            for clip in clips:
                ingest_videos(ws, [clip], camera=clip.stem, tracklet_params=TrackletParams(min_length=3))
            embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")
            tracklets = [t.id for t in ws.tracklets()]
            assert len(tracklets) >= 8  # adapt holds 4 out and trains on the rest
            confirm_match(ws, tracklets[0], tracklets[1])
            confirm_match(ws, tracklets[2], tracklets[3])
            assert len(identities(ws)) == 2
    return url


@pytest.fixture
def case(postgres_server: PostgresServer, labelled_case: str) -> str:
    return postgres_server.copy_database(labelled_case)


def machine(monkeypatch: pytest.MonkeyPatch, cache: Path, url: str) -> Path:
    """Act as the machine whose cache is ``cache``; returns its models folder for the case."""
    monkeypatch.setenv("REID_CACHE_DIR", str(cache))
    with open_workspace(url, create=False) as ws:
        return ws.folder / "models"


def another_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> tuple[Path, Path]:
    """Act as a second machine, which cannot see the first one's cache (moved away here); returns
    (its models folder for the case, where the first machine's cache is now)."""
    away = (tmp_path / "first").rename(tmp_path / "first-unreachable")
    return machine(monkeypatch, tmp_path / "second", url), away


def refusal(local: Path, name: str) -> str:
    return (
        f"error: {local}: model {name} is registered in this case but its file is not on this machine "
        f"(copy it to {local})\n"
    )


@pytest.mark.slow
def test_the_windows_retrain_on_postgresql_registers_the_model_on_the_server(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: MainWindow, qtbot
) -> None:
    """Tools → Retrain in a window on the database: its background ``reid finetune URL --embed`` keeps
    the model in this machine's cache, registers it on the server, embeds with it and makes it active."""
    models_here = machine(monkeypatch, tmp_path / "first", case)  # the child process inherits it
    assert window.open_workspace(case, create=False)
    with open_workspace(case, create=False) as ws:
        default_id, tracklets = active_model_id(ws), ws.tracklet_count()
    window.open_retrain()
    with qtbot.waitSignal(window.jobs.finished, timeout=300_000) as finished:
        window.start_retrain(1, FINETUNE[FINETUNE.index("--set") :])
    job, ok, error = finished.args
    assert job.args[:2] == ["finetune", case] and ok, error
    window.close_workspace()
    with open_workspace(case, create=False) as ws:
        models, active = ws.models(), active_model_id(ws)
        assert ws.meta_starting(SERVER_MARKER) == {}  # the run's marker is gone
        assert len(models) == 2 and models[0]["id"] == default_id and active == models[1]["id"]
        assert len(ws.embeddings(active)[0]) == tracklets
    new, path = models[1], Path(models[1]["path"])
    assert path.parent == models_here.resolve() and path.is_file() and new["id"] == file_digest(path)
    assert (models_here.parent / "training" / path.stem / "metrics.csv").is_file()
    code, out, err = run("embed", case, "--model", path.stem, "--device", "cpu")  # by its name
    assert code == 0 and f"model {new['id']} on cpu: embedded 0 tracklets ({tracklets} were already done)" in out

    models_there, away = another_machine(monkeypatch, tmp_path, case)  # another analyst's machine
    local = models_there / path.name
    for argv in (("embed", case, "--model", path.stem, "--device", "cpu"), ("finetune", case, *FINETUNE)):
        assert run(*argv) == (2, "", refusal(local, new["name"]))  # finetune would start from the active model
    models_there.mkdir(parents=True)
    shutil.copy(away / path.relative_to(tmp_path / "first"), local)
    code, out, err = run("embed", case, "--model", path.stem, "--device", "cpu")
    assert code == 0 and f"model {new['id']} on cpu: embedded 0 tracklets ({tracklets} were already done)" in out, err


@pytest.mark.slow
def test_adapt_on_postgresql_registers_its_model_and_refuses_like_on_sqlite(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models_here = machine(monkeypatch, tmp_path / "first", case)
    with open_workspace(case, create=False) as ws:
        active_before, tracklets = active_model_id(ws), ws.tracklet_count()
    # a check that demands a gain of 1.0 mAP refuses whatever the epoch did
    code, out, err = run("adapt", case, "--embed", *ADAPT, "tolerance=-1.0")
    assert code == 0 and "not activated" in out and "below the start model" in out, err
    with open_workspace(case, create=False) as ws:
        assert len(ws.models()) == 1 and active_model_id(ws) == active_before
        assert ws.meta_starting(SERVER_MARKER) == {}
    assert not models_here.exists()

    code, out, err = run("adapt", case, *ADAPT, "tolerance=1.0")  # a check any epoch passes
    assert code == 0 and "accepted: self-check" in out, err
    with open_workspace(case, create=False) as ws:
        models = ws.models()
        assert ws.get_meta("active_model") in (None, active_before)  # registered, not made active
    assert len(models) == 2
    new, path = models[1], Path(models[1]["path"])
    assert path.parent == models_here.resolve() and new["id"] == file_digest(path)
    code, out, err = run("embed", case, "--model", path.stem, "--device", "cpu")
    assert code == 0 and f"model {new['id']} on cpu: embedded {tracklets} tracklets" in out, err

    local = another_machine(monkeypatch, tmp_path, case)[0] / path.name
    assert run("embed", case, "--model", new["id"], "--device", "cpu") == (2, "", refusal(local, new["name"]))


def test_a_killed_run_is_discarded_on_the_server_and_a_running_one_is_left(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a run killed on some machine left (its marker on the server, whose session lock died with it):
    the next run's ``discard_killed_runs`` removes its registration, vectors and activation, and its
    file on this machine; a run whose process still holds the lock is left alone."""
    models_here = machine(monkeypatch, tmp_path / "first", case)
    start = read_checkpoint(DEFAULT_REID_CHECKPOINT)
    killed = save_checkpoint(model_from_checkpoint(start, DEFAULT_REID_CHECKPOINT), models_here / "finetune-killed.pt",
                             {"name": "finetune-killed"})  # fmt: skip
    with open_workspace(case, create=False) as ws, open_workspace(case, create=False) as running:
        active_before = active_model_id(ws)
        killed_id = register_checkpoint(ws, killed)
        set_active_model(ws, killed_id)
        marker = {"active_before": active_before, "model": str(killed.resolve())}
        ws.set_meta(SERVER_MARKER + "finetune-killed", json.dumps(marker))
        running.lock_session(SERVER_MARKER + "adapt-running")  # a run in progress elsewhere
        running.set_meta(SERVER_MARKER + "adapt-running", json.dumps(marker | {"model": "/elsewhere/adapt.pt"}))

        assert discard_killed_runs(case) == ["finetune-killed"]
        assert ws.model(killed_id) is None and ws.get_meta("active_model") == active_before
        assert list(ws.meta_starting(SERVER_MARKER)) == [SERVER_MARKER + "adapt-running"]
        assert not killed.exists()
        running.close()  # its process ends without finishing: the next run discards it
        assert discard_killed_runs(case) == ["adapt-running"]
        assert ws.meta_starting(SERVER_MARKER) == {}


def test_training_on_an_unreachable_server_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("REID_CACHE_DIR", str(tmp_path))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"postgresql://analyst:secret@127.0.0.1:{probe.getsockname()[1]}/case7"
    for command in ("finetune", "adapt"):
        code, out, err = run(command, url, "--epochs", "1")
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith(f"error: postgresql://analyst:***@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/case7:")
        assert "secret" not in err
