"""Ctrl-C (SIGINT) in the long commands: ``embed``, ``adapt``, ``finetune``, ``people``, ``train``, ``distill``.

Judged like ``ingest``'s case (``cases.interrupted_ingest_outcome``): exit 130, one line
``error: interrupted; ...``, no traceback, no stored row lost, and nothing half-done left behind
(no ``*.tmp`` file, no run marked unfinished, no registered model without its file; every
checkpoint and cache that was whole when the signal came still loads). The signal is sent once
the command is really working: its first ``--events`` line (``adapt``, ``finetune``), once it has
registered the model it embeds with (``embed``, whose first event comes with its first commit),
once its first epoch's ``last.pt`` is written (``train``), once it logs the student's start
(``distill``: the teacher's cache is written by then). ``people`` groups a small workspace in a
fraction of a second: its ``--events`` pipe is filled so that its progress line blocks it inside
the grouping, and the signal lands there.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import selectors
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.cli import main
from reid_core.checkpoint_io import load_torch_file
from reid_core.errors import EXIT_INTERRUPTED
from reid_core.workspace import DB_NAME
from tests.conftest import SHARED_DATA
from tests.reliability.cases import Case, Outcome, _cli, _cli_env, sigint_default, unembedded_copy
from tests.reliability.killed_training import SMALL, TABLES, state
from training.data.synthetic import write_ilidsvid
from training.distill import load_cache

COMMANDS = ("embed", "adapt", "finetune", "people", "train", "distill")
TEACHER = SHARED_DATA / "teachers" / "intel_omz" / "person-reidentification-retail-0287.xml"
TINY_TRAIN = ["backbone=mobilenet_v2", "input_size=[64,32]", "ids_per_batch=4", "frames_per_clip=2"]
TINY_DISTILL = ["views=2", "clip_length=2", "batch_size=2", "min_crops=2", "iterations=100000"]
TINY_DISTILL += ["made_up_people=0", "gate_weight=0"]  # the default recipe's extras: more units, person masks


@dataclass
class Interrupted:
    """One command to interrupt: its argument list, the workspace it works on (None: none) and the
    folder whose checkpoints and caches must stay whole."""

    argv: list
    workspace: Path | None
    outputs: Path
    working: Callable[[bytes], bool]  # given its stdout so far: is it doing its work?


def interrupt_problem(kind: str) -> str | None:
    """Why ``kind`` cannot be interrupted here (None when it can): distill needs its teacher and openvino."""
    if kind != "distill":
        return None
    if not TEACHER.is_file():
        return f"needs {TEACHER} (the project's shared data folder, present in CI)"
    if importlib.util.find_spec("openvino") is None:
        return "needs openvino (pip install -e '.[train]')"
    return None


def _models(workspace: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM models").fetchone()[0])


PROPOSAL_TABLES = ("proposals", "proposal_members")


def _proposals(workspace: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        return {t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in PROPOSAL_TABLES}


def _prepare(kind: str, base: Path, folder: Path) -> Interrupted:
    """The command for ``kind`` on copies of ``base`` (a trainable workspace) in ``folder``."""
    outputs = folder / "out"
    outputs.mkdir(parents=True, exist_ok=True)
    if kind == "embed":
        workspace = unembedded_copy(base, folder)
        argv: list = ["embed", workspace, "--device", "cpu", "--events"]
        return Interrupted(argv, workspace, outputs, lambda _: _models(workspace) > 0)
    if kind == "train":  # a generated benchmark, many tiny epochs: interrupted after the first
        data = write_ilidsvid(folder / "data", persons=12, frames=4)
        argv = ["train", "ilidsvid", data, "--split", "1", "--epochs", "500", "--out", outputs, "--device", "cpu"]
        argv += ["--set", *TINY_TRAIN, "iterations_per_epoch=2"]
        return Interrupted(argv, None, outputs, lambda _: (outputs / "last.pt").is_file())
    workspace = folder / "ws"
    shutil.copytree(base, workspace)
    if kind == "people":  # proposals stored by an earlier run must survive the interrupted one
        with contextlib.redirect_stdout(None):
            assert main(["people", str(workspace)]) == 0
        assert _proposals(workspace)["proposals"] > 0, "nothing stored that the interrupted run could lose"
        return Interrupted(["people", workspace, "--events"], workspace, outputs, lambda _: True)
    if kind == "distill":
        argv = ["distill", workspace, "--teacher", TEACHER, "--out", outputs / "student.pt"]
        argv += ["--cache", outputs / "teacher.npz", "--set", *TINY_DISTILL]
        return Interrupted(argv, workspace, outputs, lambda seen: b"before training" in seen)
    argv = [kind, workspace, "--embed", "--device", "cpu", "--events", *SMALL[kind]]
    return Interrupted(argv, workspace, outputs, lambda seen: b'"kind": "progress"' in seen)


def _stored(run: Interrupted) -> dict[str, object]:
    """What must not be lost: the workspace's rows and files, and which output files load whole."""
    stored: dict[str, object] = {}
    if run.workspace is not None:
        stored = state(run.workspace) | _proposals(run.workspace)
    stored |= _outputs(run)
    stored["half files (*.tmp)"] = int(stored.get("half files (*.tmp)", 0)) + len(list(run.outputs.rglob("*.tmp")))
    return stored


def _outputs(run: Interrupted) -> dict[str, object]:
    """Which checkpoints and caches in the run's output folder load whole."""
    return {f"{p.name} loads": _loads(p) for p in sorted(run.outputs.rglob("*")) if p.suffix in (".pt", ".npz")}


def _loads(path: Path) -> bool:
    try:
        load_cache(path) if path.suffix == ".npz" else load_torch_file(path)
    except Exception:  # any failure to read it back: the file is not whole
        return False
    return True


def _run_until_working(run: Interrupted) -> tuple[subprocess.Popen, bool, Callable[[], None]]:
    """Start the command and block until it is working (False: it ended first); returns a function
    that reads the rest of its stdout once it has been signalled."""
    process = subprocess.Popen(
        _cli(run.argv),
        env=_cli_env() | {"PYTHONUNBUFFERED": "1"},  # its log lines arrive as it writes them
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = b""
    while process.poll() is None:
        if run.working(seen):
            return process, True, lambda: None
        if selector.select(timeout=0.05):
            seen += os.read(process.stdout.fileno(), 4096)
    return process, False, lambda: None


def _run_until_blocked(run: Interrupted) -> tuple[subprocess.Popen, bool, Callable[[], None]]:
    """Start the command with its stdout a one-page pipe that is nearly full already: its first
    ``--events`` line blocks it in ``write`` (inside the work); returns once it is blocked there."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    capacity = fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ)
    os.write(write_end, b"\n" * (capacity - 8))  # room for less than one event line
    process = subprocess.Popen(
        _cli(run.argv), env=_cli_env(), stdout=write_end, stderr=subprocess.PIPE, preexec_fn=sigint_default
    )
    os.close(write_end)
    drain = threading.Thread(target=lambda: _read_all(read_end), daemon=True)
    blocked = False
    while process.poll() is None and not blocked:
        with contextlib.suppress(OSError):
            blocked = "pipe_write" in Path(f"/proc/{process.pid}/wchan").read_text()
        time.sleep(0.02)
    if not blocked:
        drain.start()
    return process, blocked, drain.start


def _read_all(fd: int) -> None:
    while os.read(fd, 65536):
        pass
    os.close(fd)


def interrupted_outcome(kind: str, base: Path, folder: Path) -> Outcome:
    """``reid KIND`` on copies of ``base`` (a trainable workspace), SIGINT once it works."""
    folder.mkdir(parents=True, exist_ok=True)
    run = _prepare(kind, base, folder)
    before = _stored(run)
    start = _run_until_blocked if kind == "people" else _run_until_working
    process, working, release = start(run)
    if working:
        before |= _outputs(run)  # the checkpoints and caches it had written by then must survive too
        process.send_signal(signal.SIGINT)
        release()
    stderr = process.communicate(timeout=300)[1].decode(errors="replace")
    lines = [line.rsplit("\r", 1)[-1] for line in stderr.splitlines() if "error:" in line]
    case = Case("Ctrl-C", f"{kind} interrupted by SIGINT", list, EXIT_INTERRUPTED, "interrupted")
    outcome = Outcome(case, process.returncode, lines, stderr if "Traceback" in stderr else "")
    after = _stored(run)
    outcome.rows_lost = sum(_lost(before[k], after.get(k, 0)) for k in before if k in TABLES + PROPOSAL_TABLES)
    outcome.rows_lost += sum(1 for k, v in before.items() if k.endswith(" loads") and v and not after.get(k))
    if not working:
        outcome.problems.append(f"{kind} ended before it could be interrupted: {stderr[-300:]}")
    elif process.returncode != EXIT_INTERRUPTED or len(lines) != 1 or "interrupted" not in lines[0]:
        outcome.problems.append(f"expected exit 130 and one 'interrupted' line: {process.returncode} {stderr[-500:]}")
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + stderr[-1500:])
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows or files lost ({before} -> {after})")
    left = {k: after[k] for k in ("half files (*.tmp)", "runs marked unfinished") if after.get(k)}
    if left or after.get("registered models without their file"):
        outcome.problems.append(f"left half-done: {after}")
    return outcome


def _lost(before: object, after: object) -> int:
    return max(int(before) - int(after), 0)  # type: ignore[call-overload]
