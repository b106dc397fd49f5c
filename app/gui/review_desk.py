"""The review desk of the main window: verdicts by keyboard, undo/redo, play, export, help.

A mixin of ``MainWindow`` (it uses the window's matches panel, identities panel, players and
workspace): the review's actions are made from ``REVIEW_SHORTCUTS``, so the menu, the tooltips and
the Help view list the same keys. A verdict is written into its row in place and the selection
moves on; every label change goes through ``ReviewHistory`` so it can be undone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget

from app.gui.error_dialog import show_error
from app.gui.shortcuts import REVIEW_SHORTCUTS, HelpDialog
from app.pipeline.display import identity_name_of, identity_of, tracklet_place
from app.pipeline.identities import CONFIRMED, REJECTED, confirm_match, identity_verdicts, reject_match
from app.pipeline.query import Match
from app.pipeline.review_history import ReviewHistory
from reid_core.workspace import WorkspaceError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView

    from app.gui.identities_panel import IdentitiesPanel
    from app.gui.matches import MatchesPanel
    from app.gui.player import CameraPlayer
    from app.gui.tracklet_table import TrackletTableModel
    from reid_core.workspace import Workspace


class ReviewDesk(QMainWindow):
    """Mixed into ``MainWindow``, which sets the attributes below."""

    workspace: Workspace | None
    matches: MatchesPanel
    identities: IdentitiesPanel
    players: dict[int, CameraPlayer]
    tracklet_list: QTableView
    tracklets: TrackletTableModel
    history: ReviewHistory
    review_actions: dict[str, QAction]
    help_dialog: HelpDialog | None

    def open_match(self, match: Match) -> object:
        """The heatmap view of a match: ``MainWindow``'s."""
        raise NotImplementedError

    def _build_review_menu(self) -> None:
        """The review actions, made from ``REVIEW_SHORTCUTS`` (the Help view lists the same table)."""
        slots = {
            "tracklets": lambda: self._focus_tracklets(),
            "confirm": lambda: self._decide_selected(CONFIRMED),
            "reject": lambda: self._decide_selected(REJECTED),
            "next": lambda: self.matches.step(1),
            "previous": lambda: self.matches.step(-1),
            "play": lambda: self._play_selected(),
            "open": lambda: self.open_match(self.matches.selected_match()) if self.matches.selected_match() else None,
            "undo": lambda: self.undo(),
            "redo": lambda: self.redo(),
            "export": lambda: self.export_query_case(),
            "help": lambda: self.show_help(),
        }
        review = self.menuBar().addMenu("&Review")
        for shortcut in REVIEW_SHORTCUTS:
            item = QAction(shortcut.text, self)
            item.setShortcuts([QKeySequence(k) for k in shortcut.keys])
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.setToolTip(f"{shortcut.help} ({' or '.join(shortcut.keys)})")
            item.setStatusTip(shortcut.help)
            item.triggered.connect(slots[shortcut.name])
            self.review_actions[shortcut.name] = item
            self.addAction(item)  # live whichever widget has the focus
            if shortcut.name != "help":
                review.addAction(item)

    def record_verdict(self, match: Match, verdict: str) -> None:
        """Store the verdict (undoable), show it in place and move to the next match: no re-query."""
        if self.workspace is None or self.matches.query is None:
            return
        workspace, query, model_id = self.workspace, self.matches.query.id, self.matches.model_id
        candidate = match.tracklet_id
        if verdict == CONFIRMED:
            identity = self.history.record(
                workspace, f"confirm #{candidate} for #{query}",
                lambda: confirm_match(workspace, query, candidate, match.similarity, model_id),
            )
            name = identity_name_of(workspace, identity)
            self.statusBar().showMessage(f"Confirmed: #{query} and #{candidate} are {name}")
        else:
            self.history.record(
                workspace, f"reject #{candidate} for #{query}",
                lambda: reject_match(workspace, query, candidate, match.similarity, model_id),
            )
            self.statusBar().showMessage(f"Rejected #{candidate} for #{query}")
        self._labels_changed()
        if self.matches.selected_match() == match:
            self.matches.step(1)

    def _decide_selected(self, verdict: str) -> None:
        match = self.matches.selected_match()
        if match is not None:
            self.record_verdict(match, verdict)

    def _labels_changed(self) -> None:
        """Verdicts or identities changed (a verdict, undo, redo, merge): redraw them, keep every place."""
        if self.workspace is None:
            return
        if self.matches.query is not None:
            self.matches.show_verdicts(identity_verdicts(self.workspace, self.matches.query.id))
        if self.sender() is not self.identities:
            self.identities.refresh()

    def undo(self) -> None:
        self._undo_or_redo(self.history.undo, "Undone")

    def redo(self) -> None:
        self._undo_or_redo(self.history.redo, "Redone")

    def _undo_or_redo(self, step, done: str) -> None:
        if self.workspace is None:
            return
        try:
            description = step(self.workspace)
        except WorkspaceError as exc:
            show_error(self, str(exc))
            return
        self.statusBar().showMessage(f"{done}: {description}" if description else "Nothing to " + done[:-2].lower())
        self._labels_changed()

    def _focus_tracklets(self) -> None:
        dock = self.tracklet_list.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            dock.show()
        tabs = self.identities.parentWidget()
        while tabs is not None and not isinstance(tabs, QTabWidget):
            tabs = tabs.parentWidget()
        if tabs is not None:
            tabs.setCurrentWidget(self.tracklet_list)
        self.tracklet_list.setFocus()
        if not self.tracklet_list.currentIndex().isValid() and self.tracklets.rowCount():
            self.tracklet_list.setCurrentIndex(self.tracklets.index(0, 0))

    def _play_selected(self) -> None:
        """Show the selected match in its camera's player, and play or pause it there."""
        match = self.matches.selected_match()
        if self.workspace is None or match is None:
            return
        candidate = tracklet_place(self.workspace, match.tracklet_id)
        player = self.players.get(candidate.video_id)
        if player is None:
            return
        if candidate.tracklet_id not in player.view.highlight:
            player.show_tracklet(candidate.tracklet_id, candidate.start_frame)
            player.play_button.setChecked(True)
        else:
            player.play_button.setChecked(not player.timer.isActive())

    def export_query_case(self, folder: Path | None = None) -> Path | None:
        """Evidence export of the query's identity (else the one selected under Identities)."""
        if self.workspace is None:
            return None
        identity = identity_of(self.workspace, self.matches.query.id if self.matches.query is not None else None)
        chosen = [identity] if identity is not None else self.identities.selected_ids()
        if len(chosen) != 1:
            self.statusBar().showMessage("Nothing to export: confirm a match for the query, or select one identity.")
            return None
        return self.identities.export(chosen[0], folder)

    def show_help(self) -> HelpDialog:
        if self.help_dialog is None:
            self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        return self.help_dialog
