"""Several analysts on one case: the window and ``reid people`` on a PostgreSQL workspace (a real server
started by the tests, see tests/postgres_server.py), against the same clips in a SQLite workspace.

Two cameras are ingested and embedded through ``reid`` into a folder and into a database once per
module; tests that write labels work on a copy of the database (``CREATE DATABASE … TEMPLATE``)."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.cli import build_parser, main
from app.gui.main_window import MainWindow
from app.pipeline.identities import CONFIRMED, REJECTED, confirm_match, create_identity, merge_identities
from detector.video import cut_clip
from reid_core.workspace import open_workspace
from resources import DEMO_VIDEO
from tests.postgres_server import PostgresServer

FAST_INGEST = ["--min-length", "4"]
CAMERAS = (("east", 100), ("west", 400))  # two moments of the demo footage standing in for two cameras


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def case(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    """(SQLite folder, PostgreSQL URL): two 24-frame cameras ingested and embedded into each by ``reid``."""
    folder = tmp_path_factory.mktemp("pg_case")
    clips = [cut_clip(folder / f"{name}.avi", start, 24, source=DEMO_VIDEO) for name, start in CAMERAS]
    url = postgres_server.create_database("case")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REID_CACHE_DIR", str(folder / "cache"))
        for workspace in (folder / "ws", url):
            assert run("ingest", workspace, *clips, "--jobs", "1", *FAST_INGEST)[0] == 0  # cameras: the file names
            assert run("embed", workspace, "--device", "cpu")[0] == 0
        yield folder / "ws", url


def copy_database(server: PostgresServer, url: str) -> str:
    return server.copy_database(url)


def rounded(value: object) -> object:
    """JSON with floats to 4 decimals: the two stores' embeddings agree to about 1e-6."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def test_people_gives_the_same_people_as_on_sqlite(case: tuple[Path, str]) -> None:
    folder, url = case
    results = []
    for workspace in (folder, url):
        code, out, err = run("people", workspace, "--views-overlap", "east", "west", "--json")
        assert code == 0, err
        people = rounded(json.loads(out))
        code, listed, err = run("people", workspace, "--list", "--json")  # stored, not grouped again
        assert code == 0 and rounded(json.loads(listed)) == people, err
        busiest = max(people, key=lambda p: p["tracklets"])["id"]
        code, route, err = run("people", workspace, "--route", busiest)
        assert code == 0, err
        results.append((people, json.loads(route)))
    assert results[0][0], "the clips must give proposed people"
    assert sum(p["tracklets"] for p in results[0][0]) >= 4
    assert results[1] == results[0]
    with open_workspace(url, create=False) as pg, open_workspace(folder, create=False) as lite:
        assert pg.overlapping_camera_pairs() == lite.overlapping_camera_pairs() != set()


def test_identity_edits_on_postgresql(postgres_server: PostgresServer, case: tuple[Path, str]) -> None:
    """Merging identities whose members overlap keeps one row per member (``ON CONFLICT DO NOTHING``)."""
    url = copy_database(postgres_server, case[1])
    with open_workspace(url, create=False) as ws:
        a, b, c = [t.id for t in ws.tracklets()[:3]]
        first, second = create_identity(ws, [a, b], "A"), create_identity(ws, [b, c])
        assert merge_identities(ws, first, second) == first
        assert sorted(ws.identity_members(first)) == sorted([a, b, c]) and ws.identity_names() == [(first, "A")]
        assert [(e["action"], e["identity_id"]) for e in ws.label_log()] == [("merge", first)]  # the verdict log


def test_two_analysts_confirming_at_once_build_one_identity(
    postgres_server: PostgresServer, case: tuple[Path, str]
) -> None:
    """A confirms (a, b) and B confirms (b, c) at the same moment: B's rule waits for A's transaction,
    then finds b's identity and joins c to it (without the labels lock b would be in two identities)."""
    url = copy_database(postgres_server, case[1])
    with open_workspace(url, create=False) as first, open_workspace(url, create=False) as second:
        a, b, c = [t.id for t in first.tracklets()[:3]]
        joined: list[int] = []
        with first.transaction():
            mine = confirm_match(first, a, b)  # not committed yet
            other = threading.Thread(target=lambda: joined.append(confirm_match(second, b, c)))
            other.start()
            other.join(timeout=1.0)
            assert other.is_alive(), "the second analyst's confirmation waits for the first one's"
        other.join(timeout=30)
        assert joined == [mine]
        assert [first.identity_of(t) for t in (a, b, c)] == [mine] * 3 and len(first.identity_names()) == 1


def test_gui_parses_a_postgresql_url() -> None:
    url = "postgresql://analyst@dbhost:5432/case7"
    assert build_parser(["gui", url]).parse_args(["gui", url]).workspace == url


def click_a_person(window: MainWindow, qtbot, camera: str) -> int:
    """Click the first person of ``camera`` whom no other box covers; returns the tracklet clicked."""
    player = next(p for p in window.players.values() if p.camera == camera)
    for frame in sorted(f for f in player.boxes if player.boxes[f]):
        for tracklet_id, x1, y1, x2, y2 in player.boxes[frame]:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            if sum(b[1] <= cx <= b[3] and b[2] <= cy <= b[4] for b in player.boxes[frame]) == 1:
                player.seek(frame)
                qtbot.mouseClick(player.view, Qt.MouseButton.LeftButton, pos=player.view.to_widget(cx, cy).toPoint())
                qtbot.waitUntil(lambda: window.matches.query is not None, timeout=5_000)
                return tracklet_id
    raise AssertionError(f"no uncovered person in camera {camera}")


def ranked(window: MainWindow, qtbot) -> list:
    qtbot.waitUntil(lambda: window.matches.shown == window.matches.pending, timeout=20_000)  # ranked off-thread
    return window.matches.matches


@pytest.fixture
def analysts(qtbot) -> Iterator[tuple[MainWindow, MainWindow]]:
    windows = (MainWindow(), MainWindow())
    for window in windows:
        qtbot.addWidget(window)
        window.show()
    yield windows
    for window in windows:
        window.close_workspace()


def test_two_analysts_review_one_postgresql_case_in_the_window(
    postgres_server: PostgresServer,
    case: tuple[Path, str],
    analysts: tuple[MainWindow, MainWindow],
    qtbot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("REID_CACHE_DIR", str(tmp_path / "cache"))
    url = copy_database(postgres_server, case[1])
    first, second = analysts
    assert first.open_workspace(url, create=False)  # as `reid gui URL` does
    monkeypatch.setattr(QInputDialog, "getText", lambda *_: (str(tmp_path), True))  # File > Open shared database
    second._choose_database()
    error = second.findChild(QMessageBox, "user error")
    assert error is not None and error.text() == f"{tmp_path}: not a postgresql:// URL" and second.workspace is None
    error.close()
    monkeypatch.setattr(QInputDialog, "getText", lambda *_: (f" {url} ", True))
    second._choose_database()
    assert second.workspace is not None and second.workspace.location == url
    with open_workspace(url, create=False) as reader:
        tracklets = reader.tracklet_count()
    assert first.windowTitle() == f"RRU re-ID: {url}"
    assert first.tracklets.rowCount() == tracklets > 0
    assert sorted(p.camera for p in first.players.values()) == ["east", "west"]

    query_id = click_a_person(first, qtbot, "east")
    matches = ranked(first, qtbot)
    assert len(matches) >= 2 and {m.camera for m in matches} == {"west"}
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    first.matches.table.selectRow(0)
    qtbot.mouseClick(first.matches.confirm_button, Qt.MouseButton.LeftButton)
    confirmed = {matches[0].tracklet_id: CONFIRMED}
    with open_workspace(url, create=False) as reader:  # a third connection: what the server holds
        assert reader.verdicts(query_id) == confirmed
        identity = reader.identity_of(query_id)
        assert identity is not None and sorted(reader.identity_members(identity)) == sorted(
            [query_id, matches[0].tracklet_id]
        )
    first.undo()  # undo and redo put the server's labels back
    with open_workspace(url, create=False) as reader:
        assert reader.verdicts(query_id) == {} and reader.identity_of(query_id) is None
    first.redo()
    with open_workspace(url, create=False) as reader:
        assert reader.verdicts(query_id) == confirmed and reader.identity_of(query_id) is not None

    assert second.identities.model.rowCount() == 0  # opened before the verdict
    second.reload()  # F5
    assert second.identities.model.rowCount() == 1
    second.select_tracklet(query_id)
    assert [m.tracklet_id for m in ranked(second, qtbot)] == [m.tracklet_id for m in matches]
    assert second.matches.table.item(0, 6).text() == "confirmed"
    second.matches.table.selectRow(1)  # the second analyst rejects the next candidate
    qtbot.mouseClick(second.matches.reject_button, Qt.MouseButton.LeftButton)
    first.reload()
    ranked(first, qtbot)
    assert first.matches.table.item(1, 6).text() == "rejected"

    first.undo()  # refused: it would take back the other analyst's verdict too
    refusal = first.findChild(QMessageBox, "user error")
    assert refusal is not None and "labels were changed outside this window" in refusal.text()
    with open_workspace(url, create=False) as reader:
        assert reader.verdicts(query_id) == confirmed | {matches[1].tracklet_id: REJECTED}

    started = time.time()
    with qtbot.waitSignal(second.people.runner.done, timeout=120_000):
        second.group_people()  # a background `reid people postgresql://…` process
    qtbot.waitUntil(second.people.group_button.isEnabled)
    with open_workspace(url, create=False) as reader:
        proposals = reader.proposal_summaries()
        assert reader.db.execute("SELECT MIN(created_at) FROM proposals").fetchone()[0] >= started  # new ones
    assert second.people.model.rowCount() == len(proposals) > 0
    first.reload()
    assert first.people.model.rowCount() == len(proposals)
