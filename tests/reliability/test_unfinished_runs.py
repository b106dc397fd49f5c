"""What a killed ``adapt``/``finetune`` left is discarded by the next run; a run still working is left alone;
a run that fails and cannot discard itself reports its own error and leaves its marker to the next run."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from app.pipeline.embed import register_checkpoint
from app.pipeline.unfinished_runs import discard_killed_runs, unfinished_run
from reid_core.workspace import DB_NAME, Workspace
from resources import DEFAULT_REID_CHECKPOINT

HOLD_LOCK = (  # a live run: holds its marker's lock until it is killed
    "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); fcntl.flock(f, fcntl.LOCK_EX); "
    "print('held', flush=True); time.sleep(120)"
)


def test_a_killed_run_is_discarded_whole_and_a_running_one_is_not(tmp_path) -> None:
    folder = tmp_path / "ws"
    models, training = folder / "models", folder / "training"
    models.mkdir(parents=True)
    training.mkdir()
    killed = models / "adapt-1.pt"
    shutil.copyfile(DEFAULT_REID_CHECKPOINT, killed)
    (models / "finetune-2.pt.tmp").write_bytes(b"half a checkpoint")
    (training / "finetune-2").mkdir()
    (training / "finetune-2" / "last.pt").write_bytes(b"state")
    with Workspace(folder) as workspace:
        model_id = register_checkpoint(workspace, killed)
        workspace.set_meta("active_model", model_id)  # the killed run had made its model the active one
    (training / "adapt-1.unfinished").write_text("the-model-before")  # nobody holds its lock: the run died
    (training / "finetune-2.unfinished").write_text("")
    (training / "finetune-3").mkdir()
    running = training / "finetune-3.unfinished"
    running.write_text("")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(running)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert discard_killed_runs(folder) == ["adapt-1", "finetune-2"]
    finally:
        holder.kill()
        holder.wait()
    with Workspace(folder, create=False) as workspace:
        assert workspace.models() == [] and not workspace.has_embeddings(model_id)
        assert workspace.get_meta("active_model") == "the-model-before"
    assert sorted(p.name for p in models.iterdir()) == []
    assert sorted(p.name for p in training.iterdir()) == ["finetune-3", "finetune-3.unfinished"]
    assert discard_killed_runs(folder) == ["finetune-3"]  # its process is gone now
    assert list(training.iterdir()) == []


def test_a_failed_run_that_cannot_discard_itself_reports_its_own_error_and_the_next_run_discards_it(tmp_path) -> None:
    """As on a full disk, where the database cannot even open to remove the run's registration."""
    folder = tmp_path / "ws"
    with Workspace(folder) as workspace:
        workspace.set_meta("active_model", "the-model-before")
    database = folder / DB_NAME
    whole = database.read_bytes()
    with pytest.raises(MemoryError, match="the run's own error"), unfinished_run(folder, "adapt-7", "the-model-before"):
        (folder / "training" / "adapt-7").mkdir()
        database.write_bytes(b"not a database now")  # the discard cannot open it
        raise MemoryError("the run's own error")
    assert sorted(p.name for p in (folder / "training").iterdir()) == ["adapt-7", "adapt-7.unfinished"]
    database.write_bytes(whole)
    assert discard_killed_runs(folder) == ["adapt-7"]
    assert list((folder / "training").iterdir()) == []
