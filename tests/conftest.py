"""Shared test setup: headless Qt, offline ultralytics, and the shared data folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer, running_server

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
