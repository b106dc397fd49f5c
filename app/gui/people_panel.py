"""The people view: proposed people (one row each), a person's timeline and members, and fast review.

Grouping runs in a background ``reid people`` process (``PeopleRunner``): the window stays
responsive, a progress bar follows it, and Cancel stops it with nothing stored. Review is by
keyboard as much as by mouse: A accepts the person (a confirmed identity), S splits the chosen
member off, M merges the selected people, N / P go to the next / previous person.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.images import jpeg_to_pixmap
from app.gui.jobs import Job, JobQueue
from app.gui.timeline import TimelineWidget, doubt_colour
from app.pipeline.commands import people_args
from app.pipeline.display import tracklet_place
from app.pipeline.people import accept_proposal, merge_proposals, split_off
from app.pipeline.people_grouping import GroupingOptions
from app.pipeline.people_rows import people_rows, person_members, person_picture
from reid_core.store.proposals import ProposalSummary
from reid_core.workspace import Workspace

Index = QModelIndex | QPersistentModelIndex
THUMB = QSize(32, 64)
COLUMNS = ("", "person", "cameras", "first seen s", "last seen s", "tracklets", "confidence", "status")


class PeopleRunner(QObject):
    """Runs ``reid people --events`` as a child process, one run at a time: a process shares no
    interpreter lock with the window (a thread doing the grouping's Python loops would stall it),
    and killing it stores nothing (the proposals are replaced in one transaction at its end)."""

    progress = Signal(int, int)  # steps done, steps in all
    done = Signal()
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = JobQueue(self)
        self.jobs.progress.connect(lambda _job, event: self.progress.emit(*event.counts()))
        self.jobs.finished.connect(self._finished)

    @property
    def running(self) -> bool:
        return self.jobs.busy

    def start(self, location: str | Path, options: GroupingOptions) -> bool:
        if self.running:
            return False
        self.jobs.submit(Job("group people", people_args(location, options)))
        return True

    def cancel(self) -> None:
        self.jobs.cancel()

    def wait(self) -> None:
        self.jobs.wait_stopped()

    def _finished(self, _job: Job, ok: bool, error: str) -> None:
        if ok:
            self.done.emit()
        elif error == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(error.removeprefix("error: "))


def _row_values(person: ProposalSummary) -> tuple:
    """What each column shows (and sorts by); column 0 is the thumbnail, sorted by person id."""
    status = "accepted" if person.identity_id is not None else "proposed"
    first, last = round(person.first_seen, 1), round(person.last_seen, 1)
    cameras = ", ".join(person.cameras)
    return (person.id, person.id, cameras, first, last, person.tracklets, round(person.confidence, 2), status)


class PeopleTableModel(QAbstractTableModel):
    """Proposed people as rows, sorted and filtered here in Python (a Qt proxy would ask for every
    cell through Python thousands of times per sort); thumbnails are read when a row is first drawn."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.all: list[tuple[ProposalSummary, tuple, str]] = []  # (person, column values, lower-case text)
        self.people: list[ProposalSummary] = []  # the rows shown, in order
        self.values: list[tuple] = []
        self.order = (5, Qt.SortOrder.DescendingOrder)
        self.pattern = ""
        self.icons: dict[int, QIcon] = {}

    def reload(self, workspace: Workspace | None) -> None:
        self.workspace = workspace
        summaries = people_rows(workspace) if workspace is not None else []
        self.all = [(p, v, " ".join(map(str, v)).lower()) for p in summaries for v in [_row_values(p)]]
        self.icons.clear()
        self._arrange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.order = (column, order)
        self._arrange()

    def set_filter(self, text: str) -> None:
        self.pattern = text.strip().lower()
        self._arrange()

    def _arrange(self) -> None:
        self.beginResetModel()
        column, order = self.order
        shown = [row for row in self.all if self.pattern in row[2]]
        shown.sort(key=lambda row: (row[1][column], row[0].id), reverse=order == Qt.SortOrder.DescendingOrder)
        self.people, self.values = [row[0] for row in shown], [row[1] for row in shown]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.people)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return None if column == 0 else str(self.values[row][column])
        person = self.people[row]
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._icon(person.id)
        if role == Qt.ItemDataRole.BackgroundRole and column == 6:
            return doubt_colour(person.confidence)
        return None

    def _icon(self, proposal_id: int) -> QIcon | None:
        if proposal_id not in self.icons and self.workspace is not None:
            jpeg = person_picture(self.workspace, proposal_id)
            self.icons[proposal_id] = QIcon(jpeg_to_pixmap(jpeg, THUMB.height())) if jpeg else QIcon()
        return self.icons.get(proposal_id)


class PeoplePanel(QWidget):
    moment_chosen = Signal(int, int)  # tracklet id, frame: play it
    changed = Signal()  # identities changed (a person was accepted or split)
    message = Signal(str)  # for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.options = GroupingOptions()
        self.runner = PeopleRunner(self)
        self.runner.progress.connect(self._progress)
        self.runner.done.connect(self._grouped)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)
        self.current: int | None = None  # the person shown below the list
        self.members: list[int] = []  # member tracklet ids, most doubtful first

        self.group_button, self.cancel_button = QPushButton("Group people"), QPushButton("Cancel")
        self.group_button.setToolTip("Group all tracklets of all cameras into proposed people (in the background)")
        self.group_button.clicked.connect(self.start_grouping)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: camera, status, person…")
        top = QHBoxLayout()
        for widget in (self.group_button, self.cancel_button, self.progress, self.filter):
            top.addWidget(widget)

        self.model = PeopleTableModel(self)
        self.filter.textChanged.connect(self.model.set_filter)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(THUMB)
        self.table.verticalHeader().setDefaultSectionSize(THUMB.height() + 4)
        self.table.verticalHeader().hide()
        for column, width in enumerate((THUMB.width() + 8, 56, 150, 84, 84, 70, 84, 76)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(lambda index, _old: self._show(index))

        self.heading = QLabel("Press <b>Group people</b> to propose who is who across the cameras.")
        self.timeline = TimelineWidget()
        self.timeline.moment_chosen.connect(self.moment_chosen)
        self.member_table = QTableWidget(0, 5)
        self.member_table.setHorizontalHeaderLabels(["", "tracklet", "camera", "time s", "confidence"])
        self.member_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.member_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.member_table.setIconSize(THUMB)
        self.member_table.verticalHeader().hide()
        self.member_table.cellDoubleClicked.connect(self._play_member)
        buttons = QHBoxLayout()
        for text, slot in (
            ("Accept (A)", self.accept_current),
            ("Split off (S)", self.split_current_member),
            ("Merge selected (M)", self.merge_selected),
            ("Next (N)", lambda: self.step(1)),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.timeline, self.member_table):
            detail_layout.addWidget(widget)
        detail_layout.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)  # the list beside the chosen person: a wide, low dock
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(detail)
        self.splitter.setSizes([720, 680])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        for keys, slot in (
            ("A", self.accept_current),
            ("S", self.split_current_member),
            ("M", self.merge_selected),
            ("N", lambda: self.step(1)),
            ("P", lambda: self.step(-1)),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def set_narrow(self, narrow: bool) -> None:
        """In a narrow dock (a small screen puts it beside Browse) the chosen person goes under the list."""
        self.splitter.setOrientation(Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal)

    # -- workspace and grouping ---------------------------------------------------------------
    def set_workspace(self, workspace: Workspace | None) -> None:
        if workspace is None and self.runner.running:
            self.runner.cancel()
            self.runner.wait()
        self.workspace = workspace
        self.current = None
        self.refresh()

    def start_grouping(self) -> bool:
        if self.workspace is None or not self.runner.start(self.workspace.location, self.options):
            return False
        self.group_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first step is counted
        self.message.emit("Grouping tracklets into people in the background…")
        return True

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finish(self, text: str) -> None:
        self.group_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message.emit(text)

    def _grouped(self) -> None:
        self.refresh()
        tracklets = sum(p.tracklets for p in self.model.people)
        self._finish(f"{self.model.rowCount()} proposed people from {tracklets} tracklets")

    def _failed(self, error: str) -> None:
        self._finish(f"Grouping failed: {error}")

    def _cancelled(self) -> None:
        self._finish("Grouping cancelled; the proposals are as they were")

    # -- showing people -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the proposals, keeping the person shown."""
        keep = self.current
        self.model.reload(self.workspace)
        self.select_person(keep if keep is not None else self._person_at(0))

    def _person_at(self, row: int) -> int | None:
        return self.model.people[row].id if 0 <= row < self.model.rowCount() else None

    def select_person(self, proposal_id: int | None) -> None:
        for row, person in enumerate(self.model.people):
            if person.id == proposal_id:
                self.table.selectRow(row)
                self._show(self.model.index(row, 0))
                return
        self._show(QModelIndex())

    def step(self, by: int) -> None:
        row = self.table.currentIndex().row()
        self.select_person(self._person_at(min(max(row + by, 0), self.model.rowCount() - 1)))

    def _show(self, index: Index) -> None:
        if self.workspace is None or not index.isValid():
            self.current, self.members = None, []
            self.timeline.set_person([], {})
            self.member_table.setRowCount(0)
            return
        person = self.model.people[index.row()]
        self.current = person.id
        members = person_members(self.workspace, person.id)  # most doubtful first
        self.members = [m.tracklet.id for m in members]
        status = f"accepted as identity {person.identity_id}" if person.identity_id is not None else "proposed"
        self.heading.setText(
            f"<b>Person {person.id}</b> ({status}): {person.tracklets} tracklets in {', '.join(person.cameras)}, "
            f"{person.first_seen:.1f}–{person.last_seen:.1f} s, confidence {person.confidence:.2f}"
        )
        by_id = sorted((m.tracklet for m in members), key=lambda t: t.id)
        self.timeline.set_person(by_id, {m.tracklet.id: m.confidence for m in members})
        self.member_table.setRowCount(len(members))
        for row, member in enumerate(members):
            icon = QTableWidgetItem()
            if member.thumbnail:
                icon.setIcon(QIcon(jpeg_to_pixmap(member.thumbnail, THUMB.height())))
            self.member_table.setItem(row, 0, icon)
            for column, value in enumerate(member.cells(), 1):
                self.member_table.setItem(row, column, QTableWidgetItem(value))
            self.member_table.item(row, 4).setBackground(doubt_colour(member.confidence))
        self.member_table.resizeColumnsToContents()
        self.member_table.verticalHeader().setDefaultSectionSize(THUMB.height() + 4)
        if self.members:
            self.member_table.selectRow(0)

    def _play_member(self, row: int, _column: int = 0) -> None:
        if self.workspace is not None and 0 <= row < len(self.members):
            place = tracklet_place(self.workspace, self.members[row])
            self.moment_chosen.emit(place.tracklet_id, place.start_frame)

    # -- the operator's decisions -------------------------------------------------------------
    def accept_current(self) -> int | None:
        """Make the shown person a confirmed identity, then show the next person."""
        if self.workspace is None or self.current is None:
            return None
        row = self.table.currentIndex().row()
        identity = accept_proposal(self.workspace, self.current)
        self.message.emit(f"Person {self.current} accepted as identity {identity}")
        self.model.reload(self.workspace)
        self.select_person(self._person_at(min(row + 1, self.model.rowCount() - 1)))
        self.changed.emit()
        return identity

    def split_current_member(self) -> int | None:
        """Take the chosen member (the most doubtful unless another is selected) out into its own person."""
        row = self.member_table.currentRow()
        if self.workspace is None or self.current is None or not 0 <= row < len(self.members):
            return None
        if len(self.members) < 2:
            self.message.emit("A person of one tracklet cannot be split")
            return None
        tracklet_id = self.members[row]
        new_id = split_off(self.workspace, self.current, tracklet_id)
        self.message.emit(f"Tracklet #{tracklet_id} split off into person {new_id}")
        self.refresh()
        self.changed.emit()
        return new_id

    def merge_selected(self) -> int | None:
        """Merge every selected person into the first one selected."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        chosen = [self._person_at(row) for row in rows]
        if self.workspace is None or len(chosen) < 2:
            self.message.emit("Select two or more people (Ctrl+click) to merge them")
            return None
        keep = chosen[0]
        assert keep is not None
        for other in chosen[1:]:
            assert other is not None
            merge_proposals(self.workspace, keep, other)
        self.current = keep
        self.message.emit(f"Merged {len(chosen)} people into person {keep}")
        self.refresh()
        return keep
