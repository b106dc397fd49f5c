"""Several videos ingested by one process each give what one process ingesting them in turn gives."""

from __future__ import annotations

from pathlib import Path

from app.pipeline.ingest import ingest_videos
from app.pipeline.ingest_processes import default_jobs, ingest_in_processes
from reid_core.workspace import Workspace
from tests.detector.test_ingest import FAST, clips, snapshot  # noqa: F401  (clips is a fixture)


def test_one_process_per_video_stores_what_a_sequential_ingest_stores(clips, tmp_path: Path) -> None:  # noqa: F811
    videos = [clips["a"], tmp_path / "missing.avi", clips["b"]]
    with Workspace(tmp_path / "sequential") as ws:
        sequential = ingest_videos(ws, videos, tracklet_params=FAST)
        expected = snapshot(ws)
    seen: dict[Path, int] = {}
    outcomes = ingest_in_processes(
        tmp_path / "parallel", videos, jobs=2, tracklet_params=FAST, progress=lambda p, d, t: seen.update({p: d})
    )
    assert [o.status for o in outcomes] == [o.status for o in sequential] == ["ingested", "failed", "ingested"]
    assert "missing.avi" in outcomes[1].error
    assert [o.tracklets for o in outcomes] == [o.tracklets for o in sequential] and outcomes[0].tracklets > 0
    with Workspace(tmp_path / "parallel", create=False) as ws:
        assert snapshot(ws) == expected
    assert seen == {clips["a"]: 60, clips["b"]: 60}  # every frame's progress came back from the children


def test_default_jobs_is_one_per_video_up_to_the_cores() -> None:
    assert default_jobs(1) == 1
    assert 1 <= default_jobs(64) <= 64
