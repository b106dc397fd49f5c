"""Several videos ingested by one process each give what one process ingesting them in turn gives."""

from __future__ import annotations

from pathlib import Path

from app.cli import main
from app.pipeline.events import StepProgress, VideoOutcome, parse_event
from app.pipeline.ingest import ingest_videos
from app.pipeline.ingest_processes import default_jobs
from reid_core.errors import EXIT_BAD_INPUT
from reid_core.workspace import Workspace
from tests.detector.test_ingest import FAST, clips, snapshot  # noqa: F401  (clips is a fixture)


def test_reid_ingest_with_two_jobs_stores_what_a_sequential_ingest_stores(
    clips,  # noqa: F811
    tmp_path: Path,
    capsys,
) -> None:
    videos = [clips["a"], tmp_path / "missing.avi", clips["b"]]
    with Workspace(tmp_path / "sequential") as ws:
        sequential = ingest_videos(ws, videos, tracklet_params=FAST)
        expected = snapshot(ws)
    assert [o.status for o in sequential] == ["ingested", "failed", "ingested"]
    capsys.readouterr()
    argv = ["ingest", str(tmp_path / "parallel"), *map(str, videos), "--jobs", "2", "--events"]
    status = main([*argv, "--min-length", str(FAST.min_length)])
    assert status == EXIT_BAD_INPUT  # the missing video is one failed row, the others are stored
    events = [e for e in map(parse_event, capsys.readouterr().out.splitlines()) if e is not None]
    videos_seen = {Path(e.video): e for e in events if isinstance(e, VideoOutcome)}
    assert [videos_seen[v].status for v in videos] == ["ingested", "failed", "ingested"]
    assert "missing.avi" in (videos_seen[videos[1]].error or "")
    assert [videos_seen[v].tracklets for v in videos] == [o.tracklets for o in sequential]
    assert sequential[0].tracklets > 0
    last_progress = {Path(e.video or ""): e.done for e in events if isinstance(e, StepProgress)}
    assert last_progress == {clips["a"]: 60, clips["b"]: 60}  # every frame's progress came back from the children
    with Workspace(tmp_path / "parallel", create=False) as ws:
        assert snapshot(ws) == expected


def test_default_jobs_is_one_per_video_up_to_the_cores() -> None:
    assert default_jobs(1) == 1
    assert 1 <= default_jobs(64) <= 64
