"""The people view in the real window (offscreen) on the vtest_halves check set, the store checked after
each step; its screenshots go to $REID_SCREENSHOT_DIR when set (the README's come from here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDockWidget

from app.cli import main
from app.gui.main_window import MainWindow
from bench.bench_people import make_workspace
from reid_core.workspace import Workspace
from tests.app.people_fixture import vtest_halves_workspace
from training.data.local import read_workspace_identities

QUICK = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=2", "frames_per_clip=2", "ids_per_batch=2"]


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1600, 950)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close_workspace()


def stored(folder: Path) -> dict[int, list[int]]:
    with Workspace(folder, create=False) as ws:
        return ws.proposal_groups()


def save(widget, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("REID_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(folder / name)) and (folder / name).stat().st_size > 5_000


def test_review_people_from_proposals_to_identities_finetune_can_use(window, qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "vtest_halves"
    vtest_halves_workspace(folder)
    assert window.open_workspace(folder)
    panel = window.people
    assert panel.model.rowCount() == 0 and stored(folder) == {}

    window.findChild(QDockWidget, "People").raise_()  # its tab beside the background jobs
    with qtbot.waitSignal(panel.runner.done, timeout=60_000):
        qtbot.mouseClick(panel.group_button, Qt.MouseButton.LeftButton)  # grouping runs off the GUI thread
    qtbot.waitUntil(lambda: panel.group_button.isEnabled())
    groups = stored(folder)
    assert panel.model.rowCount() == len(groups) > 1 and sum(map(len, groups.values())) == 60
    assert panel.table.model().index(0, 5).data() == str(max(map(len, groups.values())))  # largest first

    person = panel.current  # the first row is shown: its timeline has one lane per camera, a bar per tracklet
    assert person is not None and sorted(panel.members) == groups[person]
    assert {b.tracklet.id for b in panel.timeline.bars} == set(groups[person])
    assert panel.timeline.lanes == ["plaza-left", "plaza-right"]
    bar = panel.timeline.bars[0]
    centre = panel.timeline.bar_rect(bar).center().toPoint()
    with qtbot.waitSignal(panel.moment_chosen) as clicked:
        qtbot.mouseClick(panel.timeline, Qt.MouseButton.LeftButton, pos=centre)
    tracklet = bar.tracklet
    assert clicked.args[0] == tracklet.id and tracklet.start_frame <= clicked.args[1] <= tracklet.end_frame
    assert window.matches.query is not None and window.matches.query.id == tracklet.id  # the app goes there
    panel.resize(1400, 560)
    save(panel, "people_view.png", tmp_path)
    save(panel.timeline, "people_timeline.png", tmp_path)

    doubtful = panel.members[0]  # the most doubtful member is listed first
    assert panel.model.workspace is not None
    confidence = panel.model.workspace.proposal_members(person)
    assert confidence[doubtful] == min(confidence.values())
    panel.member_table.setFocus()
    qtbot.keyClick(panel.member_table, Qt.Key.Key_S)  # split it off
    after_split = stored(folder)
    assert len(after_split) == len(groups) + 1 and doubtful not in after_split[person]
    assert [doubtful] in after_split.values()

    first, second = panel._person_at(1), panel._person_at(2)
    panel.table.selectRow(1)
    third_row = QPoint(panel.table.columnViewportPosition(2) + 5, panel.table.rowViewportPosition(2) + 5)
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, third_row)
    qtbot.keyClick(panel.table, Qt.Key.Key_M)  # merge the two selected people
    after_merge = stored(folder)
    assert len(after_merge) == len(after_split) - 1 and second not in after_merge
    assert sorted(after_merge[first]) == sorted(after_split[first] + after_split[second])

    accepted = []
    for proposal in (person, first):
        panel.select_person(proposal)
        qtbot.keyClick(panel.table, Qt.Key.Key_A)  # accept: a confirmed identity
        accepted.append(proposal)
    with Workspace(folder, create=False) as ws:
        for proposal in accepted:
            summary = next(p for p in ws.proposal_summaries() if p.id == proposal)
            assert summary.identity_id is not None
            assert sorted(ws.identity_members(summary.identity_id)) == sorted(after_merge[proposal])
        dataset = read_workspace_identities(ws)  # what `reid finetune` trains on
    assert len(dataset.train_ids) == 2 and len(dataset.train) == sum(len(after_merge[p]) for p in accepted)
    assert window.identities.model.rowCount() == 2  # the Identities tab shows them
    panel.filter.setText("accepted")  # the list filters on any column's text
    assert sorted(panel._person_at(row) for row in range(panel.model.rowCount())) == sorted(accepted)
    panel.filter.setText("")
    assert panel.model.rowCount() == len(after_merge)
    qtbot.mouseClick(panel.table.horizontalHeader().viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(panel.table.columnViewportPosition(6) + 5, 5))  # fmt: skip
    shown = [float(panel.model.index(row, 6).data()) for row in range(panel.model.rowCount())]
    assert shown in (sorted(shown), sorted(shown, reverse=True)) and shown[0] != shown[-1]  # sorted by confidence


@pytest.mark.slow
def test_finetune_trains_on_accepted_people(tmp_path: Path) -> None:
    from app.pipeline.people import accept_proposal, propose_people

    folder = tmp_path / "vtest_halves"
    vtest_halves_workspace(folder)
    with Workspace(folder) as ws:
        propose_people(ws)
        for summary in sorted(ws.proposal_summaries(), key=lambda p: -p.tracklets)[:2]:
            accept_proposal(ws, summary.id)
    assert main(["finetune", str(folder), "--out", str(tmp_path / "tuned.pt"), *QUICK]) == 0
    assert (tmp_path / "tuned.pt").stat().st_size > 0


def test_grouping_shows_progress_and_cancel_leaves_the_proposals_as_they_were(window, qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    make_workspace(folder, 6_000, cameras=8)
    assert window.open_workspace(folder)
    panel = window.people
    with qtbot.waitSignal(panel.runner.progress, timeout=60_000) as first_step:
        assert panel.start_grouping()
    done, total = first_step.args
    assert 0 < done < total
    qtbot.waitUntil(lambda: panel.progress.maximum() > 0, timeout=5_000)  # the bar follows the steps
    assert not panel.group_button.isEnabled() and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.runner.cancelled, timeout=30_000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert stored(folder) == {} and panel.model.rowCount() == 0
    assert panel.group_button.isEnabled() and "cancelled" in window.statusBar().currentMessage()
