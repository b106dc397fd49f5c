"""Ctrl-C (SIGINT) in the long workspace commands: ``embed``, ``adapt``, ``finetune``.

Judged like ``ingest``'s case (``cases.interrupted_ingest_outcome``): exit 130, one line
``error: interrupted; ...``, no traceback, no stored row lost, and nothing half-done left behind
(no ``*.tmp`` file, no run marked unfinished, no registered model without its file). The signal
is sent once the command is really working: its first ``--events`` line, or (``embed``, whose
first event comes with its first commit) once it has registered the model it embeds with.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from reid_core.errors import EXIT_INTERRUPTED
from reid_core.workspace import DB_NAME
from tests.reliability.cases import Case, Outcome, _cli, _cli_env, sigint_default, unembedded_copy
from tests.reliability.killed_training import SMALL, TABLES, state

COMMANDS = ("embed", "adapt", "finetune")


def _models(workspace: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM models").fetchone()[0])


def _wait_until_working(process: subprocess.Popen, kind: str, workspace: Path) -> bool:
    """Block until ``process`` is doing the command's work; False if it ended first."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = b""
    while process.poll() is None:
        if kind == "embed":
            if _models(workspace) > 0:
                return True
            time.sleep(0.02)
        elif selector.select(timeout=0.1):
            seen += os.read(process.stdout.fileno(), 4096)
            if b'"kind": "progress"' in seen:
                return True
    return False


def interrupted_outcome(kind: str, base: Path, folder: Path) -> Outcome:
    """``reid KIND --events`` on a copy of ``base`` (embed: without its vectors), SIGINT once it works."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "embed":
        workspace = unembedded_copy(base, folder)
        argv: list = ["embed", workspace, "--device", "cpu", "--events"]
    else:
        workspace = folder / "ws"
        shutil.copytree(base, workspace)
        argv = [kind, workspace, "--embed", "--device", "cpu", "--events", *SMALL[kind]]
    before = state(workspace)
    process = subprocess.Popen(
        _cli(argv), env=_cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=sigint_default
    )
    working = _wait_until_working(process, kind, workspace)
    if working:
        process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=300)[1].decode(errors="replace")
    lines = [line.rsplit("\r", 1)[-1] for line in stderr.splitlines() if "error:" in line]
    case = Case("Ctrl-C", f"{kind} interrupted by SIGINT", list, EXIT_INTERRUPTED, "interrupted")
    outcome = Outcome(case, process.returncode, lines, stderr if "Traceback" in stderr else "")
    after = state(workspace)
    outcome.rows_lost = sum(max(int(before[t]) - int(after[t]), 0) for t in TABLES)  # type: ignore[call-overload]
    if not working:
        outcome.problems.append(f"{kind} ended before it could be interrupted: {stderr[-300:]}")
    elif process.returncode != EXIT_INTERRUPTED or len(lines) != 1 or "interrupted" not in lines[0]:
        outcome.problems.append(f"expected exit 130 and one 'interrupted' line: {process.returncode} {stderr[-500:]}")
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + stderr[-1500:])
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost ({before} -> {after})")
    left = {k: after[k] for k in ("half files (*.tmp)", "runs marked unfinished") if after[k]}
    if left or after["registered models without their file"]:
        outcome.problems.append(f"left half-done: {after}")
    return outcome
