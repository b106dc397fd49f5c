"""A workspace on read-only media (a real read-only bind mount): search works as on a writable copy,
even with no vector index built yet (it is built in memory); writing commands fail in one line
with the machine's exit code."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from detector.video import cut_clip
from reid_core.errors import EXIT_RESOURCE
from reid_core.store.vector_index import INDEX_DIR
from resources import DEMO_VIDEO
from tests.reliability.cases import FAST_INGEST, full_disk_problem, row_counts

ROOT = Path(__file__).resolve().parents[2]


def reid(*argv: object) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, out.getvalue()


def on_read_only_mount(workspace: Path, argv: list[object], mount: Path) -> subprocess.CompletedProcess:
    """``reid ARGV`` (``WS`` = the workspace) with the workspace bind-mounted read-only at ``mount``."""
    mount.mkdir()
    args = " ".join(shlex.quote(str(mount) if a == "WS" else str(a)) for a in argv)
    script = (
        f"mount --bind {shlex.quote(str(workspace))} {shlex.quote(str(mount))} && "
        f"mount -o remount,ro,bind {shlex.quote(str(mount))} && {shlex.quote(sys.executable)} -m app.cli {args}"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def two_cameras(base_workspace, tmp_path_factory) -> Path:
    """The base workspace (camera north) plus a second camera, embedded: queries have matches."""
    problem = full_disk_problem()  # the same privilege: mounting in a private namespace
    if problem:
        pytest.skip(problem)
    workspace = tmp_path_factory.mktemp("ro") / "ws"
    shutil.copytree(base_workspace[0], workspace)
    south = cut_clip(workspace.parent / "south.avi", 200, 20, source=DEMO_VIDEO)
    assert reid("ingest", workspace, south, "--camera", "south", *FAST_INGEST)[0] == 0
    assert reid("embed", workspace, "--device", "cpu")[0] == 0
    return workspace


@pytest.mark.slow
def test_search_on_read_only_media_equals_a_writable_copy(two_cameras, tmp_path) -> None:
    code, expected = reid("query", two_cameras, "1", "--top", "5")
    assert code == 0 and len(expected.strip().splitlines()) > 1, expected
    unindexed = tmp_path / "unindexed"
    shutil.copytree(two_cameras, unindexed)
    shutil.rmtree(unindexed / INDEX_DIR)  # nothing prepared: the index cannot be written there
    done = on_read_only_mount(unindexed, ["query", "WS", "1", "--top", "5"], tmp_path / "mnt")
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout == expected
    assert not (unindexed / INDEX_DIR).exists()


@pytest.mark.slow
def test_writing_to_read_only_media_is_one_line_and_the_machines_exit_code(two_cameras, tmp_path) -> None:
    before = row_counts(two_cameras)
    new_clip = cut_clip(tmp_path / "new.avi", 300, 6, source=DEMO_VIDEO)
    done = on_read_only_mount(two_cameras, ["ingest", "WS", new_clip, *FAST_INGEST], tmp_path / "mnt")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == EXIT_RESOURCE, done.stderr[-800:]
    assert len(errors) == 1 and "read-only" in errors[0] and "new.avi" in errors[0], errors
    assert "Traceback" not in done.stderr
    assert row_counts(two_cameras) == before
