"""Machine-readable progress lines: how a background ``reid`` process talks to the app.

With ``--events`` a command prints one line per step, ``@event {json}``, on stdout, flushed,
so the window can draw per-video progress bars and show per-file errors as they happen.
"""

from __future__ import annotations

import json
import sys

PREFIX = "@event "


def emit(kind: str, **fields: object) -> None:
    sys.stdout.write(PREFIX + json.dumps({"kind": kind, **fields}, default=str) + "\n")
    sys.stdout.flush()


def parse_event(line: str) -> dict | None:
    """The event a line carries, or None for any other output."""
    if not line.startswith(PREFIX):
        return None
    try:
        event = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and "kind" in event else None


def progress_counts(event: dict) -> tuple[int, int]:
    """(done, total) of a progress event: frames or tracklets, or training iterations over all epochs."""
    if "done" in event:
        return int(event["done"]), max(int(event["total"]), 1)
    per_epoch = int(event["iterations"])
    return (int(event["epoch"]) - 1) * per_epoch + int(event["iteration"]), int(event["epochs"]) * per_epoch
