"""kill -9 at a random moment of ``reid adapt`` and ``reid finetune``, then a clean rerun.

The workspace, its models and their files must end as an uninterrupted run leaves them: the
same row counts (models, embeddings, matches, identities, their tracklets), one model file per
registered model, no half checkpoint (``*.tmp``), no registered model without its file, no run
marked unfinished. The kill lands at a random fraction (fixed seed) of the time from the moment
the run starts writing into the workspace (its ``training/*.unfinished`` marker appears) to the
moment it is finished (the marker goes) in an uninterrupted run on a copy of the same workspace.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from app.cli import main
from detector.video import cut_clip
from reid_core.workspace import DB_NAME
from resources import DEMO_VIDEO
from tests.reliability.cases import Case, Outcome, _cli, _cli_env

TABLES = ("tracklets", "models", "embeddings", "matches", "identities", "identity_tracklets")
SMALL = {  # a few iterations: each run takes seconds of work after the start-up
    # tolerance=1: the self-check accepts whatever two iterations give, so the run always writes a model
    # (what a kill must not leave half done); whether adapt helps is tests/app/test_adapt.py's question
    "adapt": [
        *("--epochs", "1", "--set", "iterations_per_epoch=2", "batch_size=4", "clip_length=2"),
        *("check=self", "tolerance=1.0"),
    ],
    "finetune": ["--epochs", "2", "--set", "iterations_per_epoch=2", "ids_per_batch=2", "frames_per_clip=2"],
}


def build_trainable(folder: Path) -> Path:
    """Two cameras (clips of the demo footage), embedded, with two people confirmed: enough
    tracklets for ``adapt`` to check itself and identities for ``finetune``."""
    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / "ws"
    small = ["--min-length", "3", "--max-crops", "4"]
    for camera, start in (("east", 0), ("west", 400)):
        clip = cut_clip(folder / f"{camera}.avi", start, 24, source=DEMO_VIDEO)
        assert main(["ingest", str(workspace), str(clip), "--camera", camera, *small]) == 0
    assert main(["embed", str(workspace), "--device", "cpu"]) == 0
    from app.pipeline.identities import confirm_match
    from reid_core.workspace import Workspace

    with Workspace(workspace, create=False) as ws:
        ids = [t.id for t in ws.tracklets()]
        assert len(ids) >= 8, f"adapt needs 8 tracklets to check itself, the clips gave {len(ids)}"
        confirm_match(ws, ids[0], ids[1])
        confirm_match(ws, ids[2], ids[3])
    return workspace


def state(workspace: Path) -> dict[str, object]:
    """What must equal an uninterrupted run's: row counts and the shape of the files."""
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        counts: dict[str, object] = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        paths = [Path(row[0]) for row in db.execute("SELECT path FROM models")]
        active = db.execute("SELECT value FROM meta WHERE key = 'active_model'").fetchone()
        counts["active model registered"] = (
            active is None or db.execute("SELECT 1 FROM models WHERE id = ?", active).fetchone() is not None
        )
    counts["registered models without their file"] = sum(not p.is_file() for p in paths)
    models = workspace / "models"
    counts["model files"] = len(list(models.glob("*.pt"))) if models.is_dir() else 0
    counts["half files (*.tmp)"] = len(list(workspace.rglob("*.tmp")))
    training = workspace / "training"
    counts["run folders"] = len([p for p in training.iterdir() if p.is_dir()]) if training.is_dir() else 0
    counts["runs marked unfinished"] = len(list(training.glob("*.unfinished"))) if training.is_dir() else 0
    return counts


def _marked(workspace: Path) -> bool:
    """Whether a run is marked unfinished in ``workspace`` (running, or killed)."""
    return bool(list((workspace / "training").glob("*.unfinished")))


def _timed_run(command: list[str], workspace: Path, kill_after: float | None) -> tuple[int, float, float | None, str]:
    """Run ``command``; once the run's unfinished-marker appears, kill it with SIGKILL after
    ``kill_after`` seconds (None: let it end). Returns (exit code, when the marker appeared, when it
    went away (None if it did not while watched), stderr)."""
    process = subprocess.Popen(command, env=_cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    writing = done = None
    while process.poll() is None:
        marked = _marked(workspace)
        now = time.monotonic()
        if writing is None and marked:
            writing = now
        elif writing is not None and done is None and not marked:
            done = now
        if writing is not None and kill_after is not None and now - writing >= kill_after:
            process.kill()
            break
        time.sleep(0.01)
    stderr = process.communicate(timeout=600)[1]
    return process.returncode, writing or time.monotonic(), done, stderr


def killed_training_outcome(kind: str, base: Path, folder: Path, seed: int) -> Outcome:
    """``reid KIND`` (adapt or finetune, with ``--embed``) killed with SIGKILL at a random moment of
    its writing, then rerun; judged against an uninterrupted run on another copy of ``base``."""
    copies = {}
    for name in ("whole", "killed"):
        copies[name] = folder / name
        shutil.copytree(base, copies[name])
    before = state(copies["killed"])

    def command(workspace: Path) -> list[str]:
        return _cli([kind, workspace, "--embed", "--device", "cpu", "--seed", "0", *SMALL[kind]])

    code, writing, end, stderr = _timed_run(command(copies["whole"]), copies["whole"], None)
    fraction = random.Random(seed).uniform(0.05, 0.95)
    seconds = fraction * ((end or writing) - writing)
    if code != 0:
        failed = Case("kill -9", f"{kind}: the uninterrupted run", list, 0)
        return Outcome(failed, code, [], problems=[f"the uninterrupted {kind} failed: {stderr[-600:]}"])
    killed, _, _, _ = _timed_run(command(copies["killed"]), copies["killed"], seconds)
    for _ in range(3):  # a run faster than the uninterrupted one finished its writing before the kill: kill sooner
        if _marked(copies["killed"]):  # a killed run's marker stays: the kill landed inside the writing
            break
        seconds /= 3
        shutil.rmtree(copies["killed"])
        shutil.copytree(base, copies["killed"])
        killed, _, _, _ = _timed_run(command(copies["killed"]), copies["killed"], seconds)
    after_kill = state(copies["killed"])
    left = ", ".join(f"{k} {v}" for k, v in after_kill.items() if v != before[k]) or "nothing"
    name = f"{kind} killed at {fraction:.0%} of its writing ({seconds:.1f} s; it left {left}), then rerun"
    outcome = Outcome(Case("kill -9", name, list, 0), killed, [])
    if not _marked(copies["killed"]):
        outcome.problems.append(f"{kind} always finished its writing before the kill ({seconds:.2f} s into it)")
    outcome.rows_lost = sum(max(int(before[t]) - int(after_kill[t]), 0) for t in TABLES)  # type: ignore[call-overload]
    rerun = subprocess.run(command(copies["killed"]), env=_cli_env(), capture_output=True, text=True, timeout=600)
    outcome.traceback = rerun.stderr if "Traceback" in rerun.stderr else ""
    if rerun.returncode != 0:
        outcome.problems.append(f"the rerun failed: {rerun.stderr[-600:]}")
    whole, again = state(copies["whole"]), state(copies["killed"])
    grown = int(before["models"]) + 1  # type: ignore[call-overload]
    if whole != again:
        differ = {k: (whole[k], again[k]) for k in whole if whole[k] != again[k]}
        outcome.problems.append(f"kill (exit {killed}) + rerun differs from an uninterrupted run: {differ}")
    if whole["half files (*.tmp)"] or whole["registered models without their file"] or whole["models"] != grown:
        outcome.problems.append(f"the uninterrupted run itself is not clean: {whole}")
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost by the kill")
    return outcome
