"""A real full disk (a small tmpfs) during embed and ingest: one error line, nothing stored is lost,
and a rerun with space finishes the work."""

from __future__ import annotations

import pytest

from app.cli import main
from detector.video import cut_clip
from reid_core.errors import EXIT_RESOURCE
from resources import DEMO_VIDEO
from tests.reliability.cases import FAST_INGEST, full_disk_problem, row_counts, run_on_full_disk, unembedded_copy


@pytest.fixture(scope="module")
def tmpfs_ok() -> None:
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)


@pytest.mark.slow
def test_full_disk_during_embed(tmpfs_ok, base_workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    workspace = unembedded_copy(base_workspace[0], tmp_path)
    before = row_counts(workspace)
    code, errors, stderr = run_on_full_disk(workspace, ["embed", "WS", "--device", "cpu"], 48, tmp_path / "after")
    assert code == EXIT_RESOURCE and len(errors) == 1 and "disk full" in errors[0], stderr
    assert "Traceback" not in stderr
    after = row_counts(tmp_path / "after")
    assert after["tracklets"] == before["tracklets"] and after["crops"] == before["crops"]
    assert main(["embed", str(tmp_path / "after"), "--device", "cpu"]) == 0  # with space: finishes
    assert row_counts(tmp_path / "after")["embeddings"] == before["tracklets"]


@pytest.mark.slow
def test_full_disk_during_ingest(tmpfs_ok, base_workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    workspace = unembedded_copy(base_workspace[0], tmp_path)
    before = row_counts(workspace)
    clip = cut_clip(tmp_path / "more.avi", 300, 12, source=DEMO_VIDEO)
    argv = ["ingest", "WS", clip, *FAST_INGEST]
    code, errors, stderr = run_on_full_disk(workspace, argv, 48, tmp_path / "after")
    assert code != 0 and len(errors) == 1 and "disk is full" in errors[0], stderr
    assert "Traceback" not in stderr
    assert row_counts(tmp_path / "after") == before  # the failed video rolled back whole; nothing else changed
    assert main(["ingest", str(tmp_path / "after"), str(clip), *FAST_INGEST]) == 0
    assert row_counts(tmp_path / "after")["videos"] == before["videos"] + 1
