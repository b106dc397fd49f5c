"""The main window: workspace, cameras side by side, matches, identities, background jobs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QWidget,
)

from app.gui.dialogs import AddVideosDialog, RetrainDialog, SettingsDialog
from app.gui.error_dialog import show_error, user_error
from app.gui.identities_panel import IdentitiesPanel
from app.gui.jobs import Job, JobQueue
from app.gui.jobs_panel import JobsPanel
from app.gui.match_view import MatchDialog
from app.gui.matches import MatchesPanel
from app.gui.people_panel import PeoplePanel
from app.gui.player import CameraPlayer
from app.gui.players_grid import PlayersGrid
from app.gui.review_desk import ReviewDesk
from app.gui.shortcuts import HelpDialog
from app.gui.tracklet_table import TrackletTableModel
from app.pipeline import backlog
from app.pipeline.backlog import PendingVideo
from app.pipeline.commands import MODEL_MAKERS, embed_args, finetune_args, ingest_args
from app.pipeline.display import CameraFeed, footage_counts, new_camera_feeds, tracklet_place
from app.pipeline.embed import missing_per_model
from app.pipeline.events import Event, VideoOutcome
from app.pipeline.identities import identities
from app.pipeline.query import Match, model_choices, set_active_model
from app.pipeline.review_history import ReviewHistory
from app.pipeline.settings import load_settings, save_settings
from reid_core.errors import UserError
from reid_core.store.location import is_database_url
from reid_core.workspace import Workspace, open_workspace

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.mpg);;All files (*)"


class MainWindow(ReviewDesk):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("RRU re-ID")
        self.resize(1500, 900)
        self.setAcceptDrops(True)
        self.workspace: Workspace | None = None
        self.players: dict[int, CameraPlayer] = {}  # by video id
        self.match_dialog: MatchDialog | None = None
        self.retrain_dialog: RetrainDialog | None = None
        self.history = ReviewHistory()  # undo/redo of verdicts, merges and renames
        self.review_actions: dict[str, QAction] = {}
        self.help_dialog: HelpDialog | None = None
        self.close_question: QMessageBox | None = None  # asked when closing with jobs running
        self.jobs = JobQueue(self)
        self.jobs.event.connect(self._job_event)
        self.jobs.finished.connect(self._job_finished)

        self.players_grid = PlayersGrid()  # every camera whole on screen, re-flowed on resize
        self.matches = MatchesPanel()
        self.matches.open_requested.connect(self.open_match)
        self.matches.verdict_requested.connect(self.record_verdict)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.players_grid)
        self.splitter.addWidget(self.matches)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.tracklets = TrackletTableModel(self)
        self.tracklet_list = QTableView()
        self.tracklet_list.setModel(self.tracklets)
        self.tracklet_list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tracklet_list.verticalHeader().hide()
        self.tracklet_list.setToolTip("Every tracklet; Enter or a double click makes one the query (Ctrl+L comes here)")
        self.tracklet_list.activated.connect(
            lambda index: self.select_tracklet(self.tracklets.tracklet_id(index.row()))
        )
        self.tracklet_list.doubleClicked.connect(
            lambda index: self.select_tracklet(self.tracklets.tracklet_id(index.row()))
        )
        self.identities = IdentitiesPanel()
        self.identities.tracklet_chosen.connect(self.select_tracklet)
        self.identities.message.connect(self.statusBar().showMessage)
        self.identities.history = self.history
        self.identities.changed.connect(self._labels_changed)
        tabs = QTabWidget()
        tabs.addTab(self.tracklet_list, "Tracklets")
        tabs.addTab(self.identities, "Identities")
        self.browse_dock = self._dock("Browse", tabs, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.jobs_panel = JobsPanel(self.jobs)
        self.jobs_panel.resume_requested.connect(self.resume)
        self.jobs_dock = self._dock("Background jobs", self.jobs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.people = PeoplePanel()  # proposed people across cameras: a tab beside the jobs
        self.people.moment_chosen.connect(self.select_tracklet)
        self.people.changed.connect(self.identities.refresh)
        self.people.message.connect(self.statusBar().showMessage)
        people_area = QScrollArea()  # scrolls rather than squeezing the cameras on a small screen
        people_area.setWidget(self.people)
        people_area.setWidgetResizable(True)
        people_area.setFrameShape(QFrame.Shape.NoFrame)
        self.people_dock = self._dock("People", people_area, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.jobs_dock, self.people_dock)
        self.jobs_dock.raise_()
        self.compact: bool | None = None  # jobs tabbed with Browse on a small screen (see _fit_to_size)
        self.splitter_moved = False  # once the operator drags the splitter, their widths stay
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "splitter_moved", True))
        self.model_box = QComboBox()
        self.model_box.setMinimumWidth(320)
        self.model_box.setToolTip("The re-ID model queries use; every model embeds every camera (in the background)")
        self.model_box.activated.connect(self._model_chosen)
        self._build_menus()
        self.statusBar().showMessage("Create or open a workspace (File menu), then add camera videos.")

    # -- layout ---------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setWidget(widget)
        dock.setObjectName(title)
        self.addDockWidget(area, dock)
        return dock

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_to_size()

    def _fit_to_size(self) -> None:
        """Share the screen from 1024×700 to 4K: below 1300×900 the jobs panel is a tab beside Browse
        (the videos get the height); Browse takes a sixth of the width; the cameras 3/5 of the rest."""
        width, height = self.width(), self.height()
        compact = width < 1300 or height < 900
        if compact != self.compact:
            self.compact = compact
            self.people.set_narrow(compact)
            if compact:  # the jobs and people tabs join Browse
                for dock in (self.jobs_dock, self.people_dock):  # out of their bottom tab group first
                    self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
                    self.tabifyDockWidget(self.browse_dock, dock)
                self.browse_dock.raise_()
            else:
                for dock in (self.jobs_dock, self.people_dock):
                    self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
                self.tabifyDockWidget(self.jobs_dock, self.people_dock)
                self.jobs_dock.raise_()
        browse = max(200, min(width // 6, 420))
        self.resizeDocks([self.browse_dock], [browse], Qt.Orientation.Horizontal)
        if not compact:
            self.resizeDocks([self.jobs_dock], [max(110, height // 8)], Qt.Orientation.Vertical)
        if not self.splitter_moved:
            central = max(width - browse, 400)
            self.splitter.setSizes([central * 3 // 5, central * 2 // 5])

    def _build_menus(self) -> None:
        def action(menu, text: str, slot, shortcut: str | None = None) -> QAction:
            item = QAction(text, self)
            item.triggered.connect(slot)
            if shortcut:
                item.setShortcut(shortcut)
            menu.addAction(item)
            return item

        files = self.menuBar().addMenu("&File")
        action(files, "New workspace…", lambda: self._choose_workspace(create=True), "Ctrl+N")
        action(files, "Open workspace…", lambda: self._choose_workspace(create=False), "Ctrl+O")
        action(files, "Open shared database…", self._choose_database)
        action(files, "Add videos…", self._choose_videos, "Ctrl+I")
        action(files, "Export case…", lambda: self.identities.export_selected())
        action(files, "Reload the workspace", self.reload, "F5")  # what other analysts stored meanwhile
        files.addSeparator()
        action(files, "Quit", self.close, "Ctrl+Q")
        self._build_review_menu()
        tools = self.menuBar().addMenu("&Tools")
        action(tools, "Settings…", self.edit_settings)
        action(tools, "Retrain on confirmed identities…", self.open_retrain)
        action(tools, "Group people across cameras", self.group_people, "Ctrl+G")
        toolbar = QToolBar("Model")
        toolbar.setObjectName("model toolbar")
        toolbar.addWidget(QLabel(" Re-ID model: "))
        toolbar.addWidget(self.model_box)
        self.addToolBar(toolbar)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.review_actions["help"])

    # -- workspace ------------------------------------------------------------------------
    def _choose_workspace(self, create: bool) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Workspace folder (new or existing)")
        if folder:
            self.open_workspace(Path(folder), create=create)

    def _choose_database(self) -> None:
        url, ok = QInputDialog.getText(
            self, "Shared workspace", "PostgreSQL database of the case (postgresql://user@host:port/database):"
        )
        if ok and url.strip():
            if not is_database_url(url.strip()):
                show_error(self, f"{url.strip()}: not a postgresql:// URL")
                return
            self.open_workspace(url.strip(), create=False)

    def open_workspace(self, location: str | Path, create: bool = True) -> bool:
        """Open a workspace folder, or a PostgreSQL one by its ``postgresql://`` URL (shared by analysts)."""
        try:
            workspace = open_workspace(location, create=create)
        except (UserError, OSError) as exc:  # not a workspace, newer schema, read-only, missing folder, no server
            error = user_error(exc)
            if error is None:
                raise
            show_error(self, str(error))
            return False
        self.close_workspace()
        self.workspace = workspace
        self.history.clear()
        self.setWindowTitle(f"RRU re-ID: {workspace.path if is_database_url(location) else location}")
        self.matches.set_workspace(workspace)
        self.identities.set_workspace(workspace)
        self.people.set_workspace(workspace)
        self.refresh()
        self.statusBar().showMessage(
            f"{footage_counts(workspace).tracklets} tracklets. Click a person in a video, or Ctrl+L to pick a "
            "tracklet; F1 lists the review keys."
        )
        pending = self.pending_videos()
        if (pending or self._unembedded()) and backlog.take_resume_request(workspace):
            self.resume()  # the window was closed on running jobs: carry on
            self.statusBar().showMessage("Resuming the background jobs stopped when the window was closed.")
        elif pending or self._unembedded():
            self.jobs_panel.offer_resume(len(pending))
        return True

    def close_workspace(self) -> None:
        if self.jobs.busy:
            self.jobs.cancel()
            self.jobs.wait_stopped()
        self.players_grid.clear()
        for player in self.players.values():
            player.close_video()
            player.deleteLater()
        self.players.clear()
        self.matches.set_workspace(None)  # waits for a query still running on the worker thread
        self.people.set_workspace(None)  # cancels and waits for a grouping run
        self.tracklets.set_workspace(None)
        if self.workspace is not None:
            self.workspace.close()
            self.workspace = None

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.jobs.busy:
            if not self.ask_to_stop_jobs():
                event.ignore()
                return
            if self.workspace is not None:
                backlog.remember_to_resume(self.workspace)
        self.close_workspace()
        super().closeEvent(event)

    def ask_to_stop_jobs(self) -> bool:
        """Closing with jobs running asks first: what stops, and what resumes when the workspace is reopened."""
        running = [job.label for job in self.jobs.jobs]
        self.close_question = QMessageBox(
            QMessageBox.Icon.Question,
            "Background jobs are running",
            f"{len(running)} background job(s) running or queued: {', '.join(running)}.\n\n"
            "Stop them and close? Ingestion and embedding resume when you reopen this workspace "
            "(what is stored stays); a retrain is lost: start it again from Tools.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        self.close_question.setDefaultButton(QMessageBox.StandardButton.No)
        return self.close_question.exec() == QMessageBox.StandardButton.Yes

    def refresh(self) -> None:
        """Re-read what background jobs may have added: players, tracklets, models, identities."""
        if self.workspace is None:
            return
        for feed in new_camera_feeds(self.workspace, self.players):
            self._add_player(feed)
        self.tracklets.set_workspace(self.workspace)  # first page now, the rest as the list scrolls
        self.matches.update_cameras()
        self.identities.refresh()
        self._refresh_models()

    def reload(self) -> None:
        """Show what others wrote to a shared (PostgreSQL) workspace meanwhile: videos, tracklets,
        identities, people and the current query's matches with their verdicts."""
        self.refresh()
        self.people.refresh()
        self.matches.refresh()

    def _add_player(self, feed: CameraFeed) -> None:
        player = CameraPlayer(feed.camera, feed.video, feed.boxes)
        player.person_clicked.connect(self.select_tracklet)
        self.players[feed.video_id] = player
        self.players_grid.add(player)

    def _refresh_models(self) -> None:
        assert self.workspace is not None
        self.model_box.clear()
        for choice in model_choices(self.workspace):
            self.model_box.addItem(choice.label, choice.model_id)
            if choice.active:
                self.model_box.setCurrentIndex(self.model_box.count() - 1)

    def _model_chosen(self, index: int) -> None:
        if self.workspace is not None and index >= 0:
            set_active_model(self.workspace, self.model_box.itemData(index))
            self.matches.refresh()

    # -- videos and background jobs -------------------------------------------------------
    def _choose_videos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add camera videos", "", VIDEO_FILTER)
        if paths:
            self.add_videos([Path(p) for p in paths])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.add_videos(paths)

    def add_videos(
        self, paths: list[Path], cameras: list[str] | None = None, start_times: list[float] | None = None
    ) -> None:
        """Queue videos for ingestion (asking for camera names and start times unless given), then embed."""
        if self.workspace is None:
            QMessageBox.information(self, "No workspace", "Create or open a workspace first (File menu).")
            return
        if cameras is None:
            dialog = AddVideosDialog(paths, self)
            if not dialog.exec():
                return
            entries = dialog.entries()
        else:
            entries = list(zip(paths, cameras, start_times or [0.0] * len(paths)))
        backlog.add_pending(self.workspace, entries)
        self._queue(entries)

    def pending_videos(self) -> list[PendingVideo]:
        """Videos added but not ingested yet: kept in the workspace so a cancelled or killed run can resume."""
        return backlog.pending_videos(self.workspace) if self.workspace is not None else []

    def _unembedded(self) -> bool:
        assert self.workspace is not None
        return backlog.owes_embedding(self.workspace)

    def _queue(self, entries: list[tuple[Path, str, float]]) -> None:
        assert self.workspace is not None
        settings = load_settings(self.workspace)
        for path, camera, start in entries:
            args = ingest_args(self.workspace.location, path, camera, start, settings)
            self.jobs.submit(Job(f"ingest {Path(path).name} ({camera})", args, key=str(Path(path).resolve())))
        self._queue_embed()

    def _queue_embed(self) -> None:
        """One embed job per model the workspace keeps (the active one first): a new camera is
        embedded by every model, so switching models never hides it. A model with nothing to do
        finishes at once."""
        assert self.workspace is not None
        settings = load_settings(self.workspace)
        for checkpoint in backlog.embed_checkpoints(self.workspace, settings):
            args = embed_args(self.workspace.location, checkpoint, settings)
            self.jobs.submit(Job(f"embed with {checkpoint.stem}", args, key=f"embed:{checkpoint}"))

    def resume(self) -> None:
        entries = [(Path(p.path), p.camera, p.start) for p in self.pending_videos()]
        if entries:
            self._queue(entries)
        else:
            self._queue_embed()

    def _job_event(self, job: Job, event: Event) -> None:
        if isinstance(event, VideoOutcome) and self.workspace is not None:
            backlog.finish_video(self.workspace, event.video, event.status)
            if event.status == "failed":
                self.statusBar().showMessage(f"Could not ingest: {event.error}")

    def _job_finished(self, job: Job, ok: bool, error: str) -> None:
        if self.workspace is None:
            return
        self.refresh()
        self.matches.refresh()
        if ok and job.args[0] in MODEL_MAKERS and not self.jobs.busy and missing_per_model(self.workspace):
            self._queue_embed()  # a model was added: it embeds the whole workspace in the background
        if not ok and error == "cancelled" and (self.pending_videos() or self._unembedded()):
            self.jobs_panel.offer_resume(len(self.pending_videos()))
        elif not ok and error != "cancelled":  # the job's own one-line errors, as the CLI printed them
            show_error(self, "\n".join(line.removeprefix("error: ") for line in error.splitlines()))
        if not self.jobs.busy:
            self.statusBar().showMessage(footage_counts(self.workspace).ready_message())

    # -- search and review ----------------------------------------------------------------
    def select_tracklet(self, tracklet_id: int, frame: int | None = None) -> None:
        """Make this tracklet the query: the matches panel ranks the other cameras for it (and its
        player shows ``frame``, when given)."""
        if self.workspace is None:
            return
        self.matches.set_query(int(tracklet_id))
        place = tracklet_place(self.workspace, tracklet_id)
        player = self.players.get(place.video_id)
        if player is not None and (frame is not None or tracklet_id not in player.view.highlight):
            player.show_tracklet(place.tracklet_id, place.start_frame if frame is None else frame)

    def open_match(self, match: Match) -> MatchDialog | None:
        if self.workspace is None or self.matches.query is None or self.matches.model_id is None:
            return None
        if self.match_dialog is not None:
            self.match_dialog.close()
        self.match_dialog = MatchDialog(self.workspace, self.matches.query, match, self.matches.model_id, self)
        self.match_dialog.verdict.connect(lambda verdict: self.record_verdict(match, verdict))
        self.match_dialog.show()
        candidate = tracklet_place(self.workspace, match.tracklet_id)
        player = self.players.get(candidate.video_id)
        if player is not None:
            player.show_tracklet(candidate.tracklet_id, candidate.start_frame)
        return self.match_dialog

    def group_people(self) -> None:
        self.people_dock.raise_()
        self.people.start_grouping()

    # -- settings and retraining ----------------------------------------------------------
    def edit_settings(self) -> None:
        if self.workspace is None:
            return
        dialog = SettingsDialog(load_settings(self.workspace), self)
        if dialog.exec():
            try:
                save_settings(self.workspace, dialog.settings())
            except ValueError as exc:
                QMessageBox.warning(self, "Settings", str(exc))

    def open_retrain(self) -> RetrainDialog | None:
        if self.workspace is None:
            return None
        if self.retrain_dialog is not None and any(job.key == "retrain" for job in self.jobs.jobs):
            self.retrain_dialog.show()  # one retrain at a time: its dialog, with its progress
            self.retrain_dialog.raise_()
            return self.retrain_dialog
        people = identities(self.workspace)
        dialog = self.retrain_dialog = RetrainDialog(len(people), sum(len(p.tracklet_ids) for p in people), self)
        dialog.start_requested.connect(self.start_retrain)
        dialog.show()
        return dialog

    def start_retrain(self, epochs: int, extra: list[str] | None = None) -> None:
        assert self.workspace is not None
        settings = load_settings(self.workspace)
        args = finetune_args(self.workspace.location, epochs, settings, extra)
        job = Job("retrain on confirmed identities", args, key="retrain", exclusive=True)
        dialog = self.retrain_dialog
        if not self.jobs.submit(job):
            message = "A retrain is already running or queued: its progress is in Background jobs."
            if dialog is not None:
                dialog.show_refused(message)
            self.statusBar().showMessage(message)
            return
        if dialog is not None:
            self.jobs.progress.connect(lambda j, e: dialog.show_progress(e, j.eta_seconds()) if j is job else None)
            self.jobs.finished.connect(lambda j, ok, error: dialog.show_finished(ok, error) if j is job else None)
