"""A real full disk (a small tmpfs) during embed and ingest: one error line, nothing stored is lost,
and a rerun with space finishes the work."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.cases import full_disk_outcome, full_disk_problem
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
