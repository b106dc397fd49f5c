"""The app shows a user error as the CLI's sentence in a dialog and keeps running."""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.error_dialog import install_error_dialogs
from app.gui.main_window import MainWindow
from reid_core.checkpoint_io import CheckpointError
from reid_core.workspace import DB_NAME


@pytest.fixture
def window(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    window = MainWindow()
    qtbot.addWidget(window)
    install_error_dialogs(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close_workspace()


def error_dialogs() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if w.objectName() == "user error" and w.isVisible()]


def test_a_foreign_database_is_a_dialog_and_the_app_goes_on(window, qtbot, tmp_path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with closing(sqlite3.connect(foreign / DB_NAME)) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    assert window.open_workspace(foreign, create=False) is False
    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    assert error_dialogs()[0].text() == f"{foreign / DB_NAME}: not a re-ID workspace (foreign SQLite database)"
    error_dialogs()[0].accept()
    assert window.open_workspace(tmp_path / "good") is True  # still running, and usable
    assert window.workspace is not None


@pytest.mark.qt_no_exception_capture  # the bug must reach Python's own hook, as in the app
def test_a_user_error_raised_in_a_slot_is_a_dialog_and_a_bug_is_not(window, qtbot, capsys) -> None:
    error = CheckpointError("/cases/model.pt: no such file")
    sys.excepthook(type(error), error, None)
    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    assert error_dialogs()[0].text() == "/cases/model.pt: no such file"
    error_dialogs()[0].accept()
    qtbot.waitUntil(lambda: not error_dialogs())
    bug = KeyError("internal")
    sys.excepthook(type(bug), bug, None)  # a bug keeps the default hook: a traceback, no dialog
    assert not error_dialogs() and "KeyError" in capsys.readouterr().err
