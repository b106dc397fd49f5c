"""A real full disk (a small tmpfs) while ``reid adapt`` or ``reid finetune`` writes into the workspace.

The workspace sits on a tmpfs with room for its database but not for the new model's checkpoint
(about 10 MB). Judged like the other full-disk cases: one ``disk`` error line, exit 3, no traceback,
no stored row lost; and like a killed run: no half checkpoint (``*.tmp``), no registered model
without its file. (The failed run's ``.unfinished`` marker may stay: the disk is too full even for
the database's index of its log, so the run cannot update the database to discard itself.) A rerun
with space then ends as an uninterrupted run does: one more model, its file, no marker left.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from app.cli import main
from reid_core.errors import EXIT_RESOURCE
from tests.reliability.cases import Case, Outcome, run_on_full_disk
from tests.reliability.killed_training import SMALL, TABLES, state

SPARE_KIB = 1024  # room for the database's journal and the run's marker, not for a checkpoint


def full_disk_training_outcome(kind: str, base: Path, folder: Path) -> Outcome:
    """``reid KIND`` (adapt or finetune) on a copy of ``base`` (a trainable workspace) on a full tmpfs."""
    folder.mkdir(parents=True, exist_ok=True)
    before = state(base)
    argv: list = [kind, "WS", "--device", "cpu", "--seed", "0", *SMALL[kind]]
    after_path = folder / "after"
    code, errors, stderr = run_on_full_disk(base, argv, SPARE_KIB, after_path)
    case = Case("full disk", f"{kind} on a full tmpfs", lambda i: argv, code=EXIT_RESOURCE, says="disk")
    outcome = Outcome(case, code, errors, stderr if "Traceback" in stderr else "")
    after = state(after_path)
    outcome.rows_lost = sum(max(int(before[t]) - int(after[t]), 0) for t in TABLES)  # type: ignore[call-overload]
    if code != EXIT_RESOURCE or len(errors) != 1 or "disk" not in errors[0]:
        outcome.problems.append(f"expected one 'disk full' error line and exit 3, got {code}: {stderr[-600:]}")
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + stderr[-1500:])
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost ({before} -> {after})")
    if after["half files (*.tmp)"] or after["registered models without their file"]:
        outcome.problems.append(f"left half-done: {after}")
    rerun = [str(after_path) if a == "WS" else str(a) for a in argv]
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        status = main(rerun)
    done = state(after_path)
    grown = int(before["models"]) + 1  # type: ignore[call-overload]
    one_more_file = done["model files"] == int(before["model files"]) + 1  # type: ignore[call-overload]
    clean = one_more_file and not done["runs marked unfinished"] and not done["half files (*.tmp)"]
    if status != 0 or done["models"] != grown or not clean:
        outcome.problems.append(f"the rerun with space did not finish the work: exit {status}, {done}")
    return outcome
