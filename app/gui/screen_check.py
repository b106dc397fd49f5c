"""Say in one line why the window cannot open, before Qt would abort the process with its own lines.

Without a screen, or on X11 without ``libxcb-cursor0`` (Qt 6.5+ needs it and most minimal Linux
installs lack it), Qt prints several lines about platform plugins, suggests reinstalling, and aborts
(exit 134): nothing a user can act on. Checked here only where the answer is sure; every other
platform (Wayland, ``QT_QPA_PLATFORM=offscreen``, macOS, Windows) is left to Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

from reid_core.errors import ResourceError

XCB_CURSOR = "libxcb-cursor.so.0"
QT_X11_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0"


def screen_problem(environ: Mapping[str, str], platform: str, can_load=ctypes.CDLL) -> ResourceError | None:
    """The reason Qt's X11 platform cannot start here, or None when it can (or when this is not X11)."""
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if platform != "linux" or (chosen and not chosen.startswith("xcb")):
        return None
    if not chosen and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt picks Wayland
    if not environ.get("DISPLAY"):
        return ResourceError(
            "DISPLAY: not set: no screen to open the window on (run it in a desktop session, "
            "or use `reid demo --no-gui` and the other reid commands)"
        )
    try:
        can_load(XCB_CURSOR)
    except OSError:
        return ResourceError(
            f"{XCB_CURSOR}: not found: the window needs it on X11 "
            f"(Debian/Ubuntu: apt-get install {QT_X11_PACKAGES})"
        )
    return None


def require_screen() -> None:
    problem = screen_problem(os.environ, sys.platform)
    if problem is not None:
        raise problem
