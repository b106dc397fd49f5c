"""The worker protocol: how a background ``reid … --events`` process talks to the app.

With ``--events`` a command prints one line per step, ``@event {json}``, on stdout, flushed, so
the window can draw progress bars, the loss curve and per-file errors as they happen. Each line
is one of the event classes below, with its ``kind`` written out; ``emit`` writes one and
``parse_event`` reads one back (both ends are ours: there is no older format to accept).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

PREFIX = "@event "
EVENTS_FLAG = "--events"  # the hidden CLI flag that turns these lines on

Stage = Literal["ingest", "embed", "people"]


@dataclass(frozen=True)
class StepProgress:
    """Counted work: frames of one video (ingest), tracklets (embed), grouping steps (people)."""

    stage: Stage
    done: int
    steps: int  # how many in all
    video: str | None = None  # ingest only: the video these frames belong to
    kind: Literal["progress"] = field(default="progress", init=False)

    def counts(self) -> tuple[int, int]:
        return self.done, max(self.steps, 1)


@dataclass(frozen=True)
class TrainProgress:
    """One training iteration: where it is in the run, and that iteration's loss (and its terms)."""

    epoch: int  # 1-based
    epochs: int
    iteration: int  # 1-based, within the epoch
    iterations: int  # per epoch
    loss: float  # the iteration's total loss, what the dialog plots
    loss_terms: dict[str, float] = field(default_factory=dict)  # its parts (ce, aux, video, part)
    kind: Literal["train"] = field(default="train", init=False)

    def counts(self) -> tuple[int, int]:
        """Iterations done over all epochs."""
        per_epoch = max(self.iterations, 1)
        return (self.epoch - 1) * per_epoch + self.iteration, self.epochs * per_epoch


@dataclass(frozen=True)
class AdaptProgress:
    """One epoch of label-free adaptation and its held-out self-check score."""

    epoch: int  # 1-based
    epochs: int
    self_check: float
    kind: Literal["adapt"] = field(default="adapt", init=False)

    def counts(self) -> tuple[int, int]:
        return self.epoch, max(self.epochs, 1)


@dataclass(frozen=True)
class VideoOutcome:
    """How ingesting one video ended: ``ingested``, ``skipped`` (already in) or ``failed``."""

    video: str
    status: str
    camera: str
    tracklets: int
    error: str | None = None
    kind: Literal["video"] = field(default="video", init=False)


@dataclass(frozen=True)
class ModelReady:
    """A training command's result: the checkpoint written and the model registered, or why the
    adapted model was refused (then both are None)."""

    checkpoint: str | None
    model_id: str | None
    refused: str | None = None
    kind: Literal["done"] = field(default="done", init=False)


Progress = StepProgress | TrainProgress | AdaptProgress
Event = StepProgress | TrainProgress | AdaptProgress | VideoOutcome | ModelReady
PROGRESS_TYPES = (StepProgress, TrainProgress, AdaptProgress)
EVENT_TYPES: dict[str, type[Event]] = {
    str(next(f.default for f in fields(cls) if f.name == "kind")): cls
    for cls in (*PROGRESS_TYPES, VideoOutcome, ModelReady)
}


def event_line(event: Event) -> str:
    """The line ``emit`` writes for ``event`` (without its newline)."""
    return PREFIX + json.dumps(asdict(event), default=str)


def emit(event: Event) -> None:
    sys.stdout.write(event_line(event) + "\n")
    sys.stdout.flush()


def parse_event(line: str) -> Event | None:
    """The event a line carries, or None for any other output (a log line, a traceback)."""
    if not line.startswith(PREFIX):
        return None
    try:
        data = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    cls = EVENT_TYPES.get(data.pop("kind", None))
    if cls is None:
        return None
    names = {f.name for f in fields(cls) if f.init}
    if set(data) - names:
        return None
    try:
        return cls(**data)
    except TypeError:  # a required field is missing
        return None


def train_progress(step: dict) -> TrainProgress:
    """The event for one ``training.trainer`` progress step (a dict: the training layer knows no app)."""
    position = ("epoch", "epochs", "iteration", "iterations", "total")
    terms = {key: float(value) for key, value in step.items() if key not in position}
    return TrainProgress(
        epoch=int(step["epoch"]),
        epochs=int(step["epochs"]),
        iteration=int(step["iteration"]),
        iterations=int(step["iterations"]),
        loss=float(step["total"]),
        loss_terms=terms,
    )


def adapt_progress(step: dict) -> AdaptProgress:
    """The event for one ``training.adapt`` progress step."""
    return AdaptProgress(epoch=int(step["epoch"]), epochs=int(step["epochs"]), self_check=float(step["check"]))
