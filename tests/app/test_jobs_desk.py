"""Jobs as the operator sees them: time left, the loss drawn live, one retrain at a time, and closing
with jobs running asks first (issue 18 item 5)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from app.gui.dialogs import RetrainDialog
from app.gui.jobs import Job, eta_text
from app.gui.main_window import MainWindow
from app.pipeline.events import TrainProgress
from detector.video import cut_clip
from resources import DEMO_VIDEO


def test_time_left_follows_the_rate_so_far() -> None:
    job = Job("embed", ["embed"], started_at=100.0, done=30, total=120)
    assert job.eta_seconds(now=160.0) == 180.0  # 30 units in 60 s: 90 more take 180 s
    assert Job("x", [], started_at=100.0, done=0, total=10).eta_seconds(now=150.0) is None
    assert [eta_text(s) for s in (None, 12.4, 180.0, 9000.0)] == ["", "about 12 s left", "about 3 min left",
                                                                  "about 2.5 h left"]


def test_the_loss_is_drawn_as_it_comes_in(qtbot) -> None:
    dialog = RetrainDialog(3, 9)
    qtbot.addWidget(dialog)
    dialog.show()
    for iteration, loss in enumerate([2.0, 1.5, 1.7, 0.9], 1):
        dialog.show_progress(TrainProgress(epoch=1, epochs=2, iteration=iteration, iterations=4, loss=loss), 42.0)
    points = dialog.loss_plot.points()
    assert len(points) == 4 and [p.x() for p in points] == sorted(p.x() for p in points)
    heights = [p.y() for p in points]  # screen y grows downwards: the highest loss has the smallest y
    assert heights.index(min(heights)) == 0 and heights.index(max(heights)) == 3
    assert "about 42 s left" in dialog.status.text() and dialog.progress.value() == 4


def test_one_retrain_at_a_time_and_closing_asks_first(
    window, qtbot, two_cameras_copy, tmp_path: Path
) -> None:
    assert window.open_workspace(two_cameras_copy)
    clip = cut_clip(tmp_path / "north.avi", 200, 60, DEMO_VIDEO)  # real work to keep the queue busy
    window.add_videos([clip], cameras=["north"], start_times=[0.0])
    dialog = window.open_retrain()
    window.start_retrain(1)
    queued = [job.label for job in window.jobs.jobs]
    window.start_retrain(1)  # a second request says so and queues nothing
    assert [job.label for job in window.jobs.jobs] == queued and queued.count("retrain on confirmed identities") == 1
    assert "already running or queued" in dialog.status.text()
    assert window.open_retrain() is dialog  # the menu shows the running retrain's dialog

    answers = []

    def answer(button: QMessageBox.StandardButton) -> None:
        question = window.close_question
        assert question is not None and question.isVisible() and "ingest north.avi" in question.text()
        answers.append(button)
        question.button(button).click()

    QTimer.singleShot(300, lambda: answer(QMessageBox.StandardButton.No))
    assert not window.close() and window.isVisible() and window.jobs.busy  # kept open, jobs still running
    QTimer.singleShot(300, lambda: answer(QMessageBox.StandardButton.Yes))
    assert window.close() and not window.jobs.busy and window.workspace is None
    assert answers == [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]

    reopened = MainWindow()  # the stopped jobs resume when the workspace is opened again
    qtbot.addWidget(reopened)
    assert reopened.open_workspace(two_cameras_copy)
    assert reopened.jobs.jobs[0].label == "ingest north.avi (north)"
    reopened.close_workspace()  # stops them again (the test ends here)
