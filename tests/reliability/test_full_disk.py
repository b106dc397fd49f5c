"""A real full disk (a small tmpfs) during embed, ingest, train and adapt: one error line, nothing stored
is lost, and a rerun with space finishes the work."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reid_core.workspace import DB_NAME
from tests.reliability.cases import full_disk_outcome, full_disk_problem, run_on_full_disk
from tests.reliability.full_disk_training import full_disk_training_outcome
from training.data.synthetic import write_ilidsvid


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["embed", "ingest"])
def test_full_disk(kind, base_workspace, tmp_path) -> None:
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)
    outcome = full_disk_outcome(kind, base_workspace[0], tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)
    if kind == "embed":
        assert outcome.code == 3, "a full disk is the machine's problem: exit code 3"


@pytest.mark.slow
def test_full_disk_during_training_is_one_line_and_exit_3(tmp_path) -> None:
    """``reid train`` writing its run folder onto a full tmpfs: torch's writer fails deep inside (a bare
    RuntimeError); the user sees one line naming the file, and no half-written checkpoint is left."""
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)
    data = write_ilidsvid(tmp_path / "data", persons=12, frames=4)
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    tiny = ["backbone=mobilenet_v2", "input_size=[64,32]", "ids_per_batch=4", "frames_per_clip=2"]
    train = [sys.executable, "-m", "app.cli", "train", "ilidsvid", str(data), "--split", "1", "--epochs", "1"]
    train += ["--out", str(mount / "run"), "--device", "cpu", "--set", *tiny, "iterations_per_epoch=2"]
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(mount))} && {shlex.join(train)}; status=$?; "
        f"ls -A {shlex.quote(str(mount / 'run'))}; exit $status"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 3, done.stderr[-800:]
    assert len(errors) == 1 and errors[0].endswith(".pt: disk full (the file was not written)"), errors
    assert "Traceback" not in done.stderr
    assert not [name for name in done.stdout.split() if name.endswith(".tmp")], done.stdout  # no half file left


@pytest.mark.slow
def test_full_disk_during_finetune_keeps_the_workspace_and_a_rerun_finishes(trainable, tmp_path) -> None:
    """``reid finetune`` on a workspace whose disk has no room for its checkpoint (adapt, three times
    slower here: in the benchmark; its cleanup when the database cannot open: test_unfinished_runs)."""
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)
    outcome = full_disk_training_outcome("finetune", trainable, tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)


@pytest.mark.slow
def test_a_workspace_on_a_full_disk_is_one_disk_full_line_and_exit_3(base_workspace, tmp_path) -> None:
    """Opening the database needs room for the index of its write-ahead log: SQLite says only
    "disk I/O error" (it was reported as "not a usable SQLite database", exit 2, before)."""
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)
    closed = tmp_path / "closed"  # the database alone, as a closed workspace leaves it (no WAL index yet)
    closed.mkdir()
    shutil.copyfile(base_workspace[0] / DB_NAME, closed / DB_NAME)
    code, errors, stderr = run_on_full_disk(closed, ["people", "WS"], 64, tmp_path / "after", fill=True)
    assert code == 3, stderr[-800:]
    assert len(errors) == 1 and "workspace.sqlite: disk full" in errors[0], errors
    assert "Traceback" not in stderr
