"""Background work as child processes: the window never runs detection, embedding or training itself.

Each job is one ``reid ... --events`` command run by QProcess; its ``@event`` lines become Qt
signals. A process, unlike a thread, shares no interpreter lock with the window (so the window
stays responsive) and can be stopped at any moment: ingestion commits one video at a time,
embedding one group of tracklets at a time, so a stopped job leaves a consistent workspace and
running it again resumes where it stopped.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QProcess, Signal

from app.pipeline.events import EVENTS_FLAG, PROGRESS_TYPES, parse_event


@dataclass
class Job:
    label: str  # what the jobs panel shows ("ingest plaza.avi", "embed", "retrain")
    args: list[str]  # reid arguments, without --events
    key: str = ""  # e.g. the video path: one job per key at a time, and the panel matches events by it
    output: list[str] = field(default_factory=list)
    exclusive: bool = False  # a second one while this one is queued or running is refused, not queued
    started_at: float | None = None  # monotonic seconds
    done: int = 0  # progress: units done of total (frames, tracklets, iterations)
    total: int = 0

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left at the rate so far (None until there is a rate to go by)."""
        if self.started_at is None or self.done <= 0 or self.total <= self.done:
            return None
        elapsed = (time.monotonic() if now is None else now) - self.started_at
        return elapsed / self.done * (self.total - self.done)


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"about {max(round(seconds), 1)} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


class JobQueue(QObject):
    """Runs jobs one after the other; cancel stops the running one and drops the rest."""

    started = Signal(object)  # Job
    progress = Signal(object, object)  # Job, its progress event (StepProgress, TrainProgress, AdaptProgress)
    event = Signal(object, object)  # Job, any other event (VideoOutcome, ModelReady)
    finished = Signal(object, bool, str)  # Job, ok, error text
    idle = Signal()
    refused = Signal(object, object)  # the new Job, the one with its key already running or queued
    dropped = Signal(object)  # a queued Job replaced by a newer one with its key

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: deque[Job] = deque()
        self._process: QProcess | None = None
        self._current: Job | None = None
        self._buffer = ""
        self._cancelled = False

    @property
    def busy(self) -> bool:
        return self._current is not None or bool(self._pending)

    @property
    def jobs(self) -> list[Job]:
        """The running job, then the queued ones."""
        return ([self._current] if self._current is not None else []) + list(self._pending)

    def submit(self, job: Job) -> bool:
        """Queue a job. One job per key at a time: an ``exclusive`` job (a retrain) whose key is running
        or queued is refused (False; ``refused`` names the job that holds it); any other job replaces a
        queued one with its key, moved to the back (an embed queued behind new ingests does all their
        tracklets), and waits behind a running one (which may have started before the new work existed)."""
        holder = next((other for other in self.jobs if job.key and other.key == job.key), None)
        if holder is not None and (job.exclusive or holder.exclusive):
            self.refused.emit(job, holder)
            return False
        if holder is not None and holder is not self._current:
            self._pending.remove(holder)
            self.dropped.emit(holder)
        self._pending.append(job)
        if self._current is None:
            self._next()
        return True

    def cancel(self) -> None:
        """Stop now: the running process is killed, queued jobs are dropped."""
        dropped = list(self._pending)
        self._pending.clear()
        for job in dropped:
            self.finished.emit(job, False, "cancelled")
        if self._process is not None:
            self._cancelled = True
            self._process.kill()

    def wait_stopped(self, msecs: int = 5000) -> None:
        if self._process is not None:
            self._process.waitForFinished(msecs)

    def _next(self) -> None:
        if not self._pending:
            self._current = None
            self.idle.emit()
            return
        job = self._current = self._pending.popleft()
        job.started_at = time.monotonic()
        self._buffer = ""
        self._cancelled = False
        process = self._process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._done)
        process.errorOccurred.connect(self._failed_to_start)
        self.started.emit(job)
        process.start(sys.executable, ["-m", "app.cli", *job.args, EVENTS_FLAG])

    def _read(self) -> None:
        assert self._process is not None and self._current is not None
        self._buffer += bytes(self._process.readAllStandardOutput().data()).decode("utf-8", "replace")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            event = parse_event(line)
            if event is None:
                self._current.output.append(line)
            elif isinstance(event, PROGRESS_TYPES):
                self._current.done, self._current.total = event.counts()
                self.progress.emit(self._current, event)
            else:
                self.event.emit(self._current, event)

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(False, f"could not start {sys.executable}: {error.name}")

    def _done(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        if self._cancelled:
            self._finish(False, "cancelled")
        elif status != QProcess.ExitStatus.NormalExit or exit_code != 0:
            assert self._current is not None
            errors = [line for line in self._current.output if line.startswith("error")] or self._current.output[-3:]
            self._finish(False, "\n".join(errors) or f"exit code {exit_code}")
        else:
            self._finish(True, "")

    def _finish(self, ok: bool, error: str) -> None:
        job = self._current
        if job is None:
            return
        if self._process is not None:
            self._process.deleteLater()
            self._process = None
        self._current = None
        self.finished.emit(job, ok, error)
        self._next()
