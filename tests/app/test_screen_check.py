"""The window's start says in one line why it cannot open, where Qt would abort with its own lines."""

from __future__ import annotations

import subprocess
import sys

from app.gui.screen_check import XCB_CURSOR, screen_problem
from tests.conftest import REPO_ROOT


def _missing(name: str) -> None:
    raise OSError(f"{name}: cannot open shared object file")


def _present(name: str) -> None:
    return None


def test_no_display_on_linux_is_one_reason() -> None:
    problem = screen_problem({}, "linux", _present)
    assert problem is not None and str(problem).startswith("DISPLAY: not set")


def test_x11_without_xcb_cursor_names_the_library_and_the_packages() -> None:
    problem = screen_problem({"DISPLAY": ":0"}, "linux", _missing)
    assert problem is not None
    assert str(problem).startswith(f"{XCB_CURSOR}: not found") and "apt-get install libxcb-cursor0" in str(problem)


def test_platforms_qt_handles_itself_are_left_to_qt() -> None:
    assert screen_problem({"DISPLAY": ":0"}, "linux", _present) is None
    assert screen_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", _missing) is None
    assert screen_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", _missing) is None
    assert screen_problem({}, "darwin", _missing) is None
    assert screen_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", _present) is not None  # X11 asked, no DISPLAY


def test_reid_gui_without_a_screen_is_one_line_and_exit_3(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}  # no DISPLAY
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "gui", str(tmp_path / "case")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 3, run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]
    assert run.stderr.startswith("error: DISPLAY: not set")
    assert not (tmp_path / "case").exists()  # nothing created for a window that never opened
