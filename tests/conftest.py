"""Shared test setup: headless Qt, offline ultralytics, and the shared data folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer, running_server


def own_cores_per_worker() -> None:
    """Under pytest-xdist (``-n N``), pin worker ``gwI`` to its own share of the cores (``cores[I::N]``).

    torch, OpenMP, onnxruntime, OpenVINO and the detector (``detector.runtime.available_cores``)
    size their thread pools from this process's affinity, and the ``reid`` child processes and Ray
    workers inherit it. Unpinned, two workers on 2 cores run 2+2 threads that spin-wait for each
    other: one torch test took 95 CPU s instead of 14 on a loaded 2-core machine (README *Test suite
    time*). Runs before anything imports torch; a plain ``pytest`` run is left as it is."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... (xdist sets it in its workers)
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= count:
        os.sched_setaffinity(0, cores[int(worker[2:]) % count :: count])


own_cores_per_worker()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REID_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """A file from ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data folder, present in CI)")
    return path


@pytest.fixture(scope="session")
def mobilenet_weights() -> Path:
    return shared_file("backbones/mobilenet_v2_imagenet_features.pt")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (see tests/postgres_server.py); skips where the
    server binaries are missing. Its folder is a fresh one under /tmp: the server's user (``nobody``
    when the tests run as root) could not enter pytest's own root-only temp folders."""
    folder = Path(tempfile.mkdtemp(prefix="reid-pg-"))
    try:
        with running_server(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)
