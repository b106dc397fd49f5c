"""Zero network, proven: the CLI's commands run with their network system calls traced.

Regression: onnxruntime's telemetry looked up mobile.events.data.microsoft.com every few
seconds while the detector ran. Not traced here, to keep the suite short: ``reid demo --no-gui``
(the same ingest, embed and query commands on 600 frames) and ``embed --device onnx`` (a
two-minute export; onnxruntime itself is exercised by the detector during ingest).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from detector.video import cut_clip
from resources import DEMO_VIDEO
from tests.conftest import REPO_ROOT
from tests.reliability.network_trace import network_attempts, strace_problem, traced_run

QUICK_ADAPT = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=1", "frames_per_clip=2"]


@pytest.fixture(scope="module")
def traced(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Runs ``reid ARGS`` under strace; returns (completed process, network attempts)."""
    problem = strace_problem()
    if problem:
        pytest.skip(problem)
    folder = tmp_path_factory.mktemp("traced")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name in ("ORT_DISABLE_TELEMETRY", "YOLO_OFFLINE", "YOLO_AUTOINSTALL"):  # the app must set these itself
        env.pop(name, None)

    def run(*args: str):  # type: ignore[no-untyped-def]
        log = folder / f"trace-{len(list(folder.glob('trace-*')))}.txt"
        done = traced_run([sys.executable, "-m", "app.cli", *args], log, env=env, cwd=folder, timeout=600)
        return done, network_attempts(log)

    run.folder = folder  # type: ignore[attr-defined]
    return run


@pytest.mark.slow
def test_every_command_runs_without_touching_the_network(traced) -> None:  # type: ignore[no-untyped-def]
    folder: Path = traced.folder
    workspace = str(folder / "ws")
    clips = [cut_clip(folder / f"cam{i}.avi", start, 20, DEMO_VIDEO) for i, start in enumerate((100, 500))]
    commands = [
        ["ingest", workspace, *map(str, clips), "--min-length", "4"],  # camera = file name: cam0, cam1
        ["embed", workspace, "--device", "cpu"],
        ["query", workspace, "1", "--top", "3", "--rerank"],
        ["adapt", workspace, "--out", str(folder / "adapted.pt"), *QUICK_ADAPT],
    ]
    attempts = {}
    for args in commands:
        done, lines = traced(*args)
        assert done.returncode == 0, f"reid {' '.join(args)} failed:\n{done.stderr[-2000:]}"
        if lines:
            attempts[args[0]] = lines[:3]
    assert attempts == {}, f"network attempts: {attempts}"
