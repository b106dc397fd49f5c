"""User errors in the app: the CLI's one-line sentence in a dialog, and the app keeps running."""

from __future__ import annotations

import sys
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from reid_core.errors import UserError, storage_error


def show_error(parent: QWidget | None, sentence: str) -> QMessageBox:
    """A non-blocking warning dialog with ``sentence`` (``<file or value>: <problem>``)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Cannot do that", sentence, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("user error")
    box.open()
    return box


def user_error(exc: BaseException) -> UserError | None:
    """The user error ``exc`` is (a UserError, a full disk, a locked workspace), or None for a bug."""
    return exc if isinstance(exc, UserError) else storage_error(exc, "workspace")


def install_error_dialogs(parent: QWidget) -> None:
    """Show user errors raised in any slot as a dialog over ``parent``; bugs keep their traceback."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        error = user_error(exc)
        if error is None:
            previous(kind, exc, tb)
        else:
            show_error(parent, str(error))

    sys.excepthook = hook
