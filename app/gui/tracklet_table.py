"""The tracklet browser as a model/view table that reads the workspace page by page as it scrolls.

A million-row workspace opens with one page read; ``fetchMore`` pulls the next page (keyset
paging on the id) when the view scrolls near the end, so no widget per row is ever built.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.pipeline.clock import format_time
from app.pipeline.display import tracklet_list_page
from reid_core.workspace import TrackletRow, Workspace

PAGE = 500
HEADERS = ("tracklet", "camera", "start", "end", "boxes")
Index = QModelIndex | QPersistentModelIndex


class TrackletTableModel(QAbstractTableModel):
    def __init__(self, parent: object | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.rows: list[TrackletRow] = []
        self.exhausted = True

    def set_workspace(self, workspace: Workspace | None) -> None:
        """Start over from the first page (the workspace, or what is in it, changed)."""
        self.beginResetModel()
        self.workspace, self.rows, self.exhausted = workspace, [], workspace is None
        self.endResetModel()
        if self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())

    def tracklet_id(self, row: int) -> int:
        return self.rows[row].id

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and not self.exhausted

    def fetchMore(self, parent: Index) -> None:
        if self.workspace is None or parent.isValid():
            return
        page = tracklet_list_page(self.workspace, self.rows[-1].id if self.rows else 0, PAGE)
        self.exhausted = len(page) < PAGE
        if page:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(page) - 1)
            self.rows.extend(page)
            self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        t = self.rows[index.row()]
        return (f"#{t.id}", t.camera, format_time(t.start_time), format_time(t.end_time), str(t.length))[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None
