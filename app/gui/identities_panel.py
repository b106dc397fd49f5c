"""Identities the operator built by confirming matches: list, rename, merge, export a case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QItemSelectionModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.pipeline.case_export import default_export_folder, export_case
from app.pipeline.identities import Identity, identities, merge_identities, rename_identity
from app.pipeline.review_history import ReviewHistory
from reid_core.workspace import Workspace

Index = QModelIndex | QPersistentModelIndex


class IdentityListModel(QAbstractListModel):
    """The identities as a Qt model: the view draws only the visible rows."""

    def __init__(self, parent: object | None = None) -> None:
        super().__init__(parent)
        self.items: list[Identity] = []

    def set_identities(self, items: list[Identity]) -> None:
        self.beginResetModel()
        self.items = items
        self.endResetModel()

    def identity(self, row: int) -> Identity:
        return self.items[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        identity = self.items[index.row()]
        return f"{identity.name}: {len(identity.tracklet_ids)} tracklets in {', '.join(identity.cameras)}"


class IdentitiesPanel(QWidget):
    tracklet_chosen = Signal(int)
    changed = Signal()
    message = Signal(str)  # for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.history: ReviewHistory | None = None  # the window's undo history, when it has one
        self.model = IdentityListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.doubleClicked.connect(self._show_first)
        rename, merge, export = QPushButton("Rename"), QPushButton("Merge"), QPushButton("Export…")
        rename.setToolTip("Rename the selected identity (undo: Ctrl+Z)")
        merge.setToolTip("Merge the selected identities into the first one selected (undo: Ctrl+Z)")
        export.setToolTip("Evidence export of the selected identity: snapshots, scores, verdict history, hashes")
        rename.clicked.connect(self.rename_selected)
        merge.clicked.connect(self.merge_selected)
        export.clicked.connect(lambda: self.export_selected())
        buttons = QHBoxLayout()
        for button in (rename, merge, export):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def set_workspace(self, workspace: Workspace | None) -> None:
        self.workspace = workspace
        self.refresh()

    def refresh(self) -> None:
        """Re-read the identities, keeping the selection."""
        selected = set(self.selected_ids())
        self.model.set_identities(identities(self.workspace) if self.workspace is not None else [])
        selection = self.list.selectionModel()
        for row, identity in enumerate(self.model.items):
            if identity.id in selected:
                selection.select(self.model.index(row), QItemSelectionModel.SelectionFlag.Select)

    def selected_ids(self) -> list[int]:
        return [self.model.identity(index.row()).id for index in self.list.selectionModel().selectedRows()]

    def rename_selected(self, name: str | None = None) -> None:
        chosen = self.selected_ids()
        if len(chosen) != 1 or self.workspace is None:
            return
        if not name:
            name, ok = QInputDialog.getText(self, "Rename identity", "Name:")
            if not ok or not name.strip():
                return
        workspace, identity_id, new_name = self.workspace, chosen[0], name
        self._change(f"rename identity {identity_id}", lambda: rename_identity(workspace, identity_id, new_name))
        self.refresh()
        self.changed.emit()

    def merge_selected(self) -> None:
        chosen = self.selected_ids()
        if len(chosen) < 2 or self.workspace is None:
            self.message.emit("Select two or more identities to merge into the first one selected.")
            return
        workspace = self.workspace

        def merge() -> None:
            for other in chosen[1:]:
                merge_identities(workspace, chosen[0], other)

        self._change(f"merge identities {', '.join(map(str, chosen))}", merge)
        self.refresh()
        self.changed.emit()

    def export_selected(self, folder: str | Path | None = None) -> Path | None:
        chosen = self.selected_ids()
        if len(chosen) != 1 or self.workspace is None:
            self.message.emit("Select one identity to export.")
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Export case into folder")
            if not folder:
                return None
        return self.export(chosen[0], Path(folder))

    def export(self, identity_id: int, folder: Path | None = None) -> Path | None:
        """Export one identity's case into ``folder`` (default: a new folder under WORKSPACE/exports/)."""
        if self.workspace is None:
            return None
        folder = folder if folder is not None else default_export_folder(self.workspace, identity_id)
        files = export_case(self.workspace, identity_id, folder)
        self.message.emit(f"Case exported: {files.appearances} appearances in {files.html} and {files.csv}")
        return files.html

    def _change(self, description: str, change: Callable[[], object]) -> None:
        if self.history is not None and self.workspace is not None:
            self.history.record(self.workspace, description, change)
        else:
            change()

    def _show_first(self, index: QModelIndex) -> None:
        tracklets = self.model.identity(index.row()).tracklet_ids
        if tracklets:
            self.tracklet_chosen.emit(tracklets[0])
