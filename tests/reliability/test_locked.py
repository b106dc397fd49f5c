"""A workspace another program is writing (it holds SQLite's write lock): searching goes on, and a
command that must write says so in one line with the machine's exit code, losing nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from detector.video import cut_clip
from reid_core.errors import EXIT_RESOURCE
from reid_core.workspace import DB_NAME
from resources import DEMO_VIDEO
from tests.reliability.cases import FAST_INGEST, _cli, _cli_env, row_counts

HOLD_LOCK = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    db.execute("ROLLBACK")
    """
)
# `reid` itself, waiting 2 s for the lock instead of 30 (reid_core.workspace.LOCK_WAIT_S): the same
# refusal, without the test sitting idle for half a minute.
CLI_WITH_SHORT_LOCK_WAIT = (
    "import sys; import reid_core.workspace as workspace; workspace.LOCK_WAIT_S = 2.0; "
    "from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.slow
def test_a_locked_workspace_still_searches_and_refuses_writes_in_one_line(base_workspace, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(base_workspace[0], workspace)
    before = row_counts(workspace)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(workspace / DB_NAME)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        query = subprocess.run(_cli(["query", workspace, "1"]), capture_output=True, text=True, env=_cli_env())
        assert query.returncode == 0, query.stderr[-600:]
        clip = cut_clip(tmp_path / "new.avi", 300, 6, source=DEMO_VIDEO)
        ingest = subprocess.run(
            [sys.executable, "-c", CLI_WITH_SHORT_LOCK_WAIT, *map(str, ["ingest", workspace, clip, *FAST_INGEST])],
            capture_output=True,
            text=True,
            env=_cli_env(),
            timeout=300,
        )
    finally:
        holder.communicate(b"", timeout=30)
    errors = [line for line in ingest.stderr.splitlines() if line.startswith("error:")]
    assert ingest.returncode == EXIT_RESOURCE, ingest.stderr[-600:]
    assert len(errors) == 1 and "locked by another program" in errors[0], errors
    assert "Traceback" not in ingest.stderr
    assert row_counts(workspace) == before
