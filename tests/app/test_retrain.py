"""The operator's retraining loop on a real workspace: fine-tune on confirmed identities (adapt: test_adapt.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.pipeline.embed import embed_workspace
from app.pipeline.identities import confirm_match, identities
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import active_model_id
from detector.video import cut_clip
from reid_core.checkpoint import read_checkpoint
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO

QUICK = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=2", "frames_per_clip=2", "ids_per_batch=2"]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """A real ingested and embedded workspace in which the operator confirmed two people."""
    folder = tmp_path_factory.mktemp("retrain")
    clip = cut_clip(folder / "plaza.avi", 0, 80, DEMO_VIDEO)
    with Workspace(folder / "ws") as ws:
        ingest_videos(ws, [clip], camera="plaza")
        embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")
        tracklets = [t.id for t in ws.tracklets()]
        assert len(tracklets) >= 4
        confirm_match(ws, tracklets[0], tracklets[1])
        confirm_match(ws, tracklets[2], tracklets[3])
        assert len(identities(ws)) == 2
    return folder / "ws"


@pytest.mark.slow
def test_finetune_registers_embeds_and_activates_the_new_model(labelled: Path) -> None:
    with Workspace(labelled) as ws:
        before = active_model_id(ws)
    assert main(["finetune", str(labelled), "--embed", *QUICK]) == 0
    with Workspace(labelled) as ws:
        models = ws.models()
        assert len(models) == 2
        new = active_model_id(ws)
        assert new != before and new == models[-1]["id"]
        path = Path(models[-1]["path"])
        assert path.parent == (labelled / "models").resolve() and path.is_file()
        assert read_checkpoint(path)["meta"]["name"].startswith("finetune-")
        ids, vectors = ws.embeddings(new)
        assert len(ids) == ws.db["tracklets"].count and vectors.shape[1] == models[-1]["feature_dim"]
    assert (labelled / "training").is_dir()


def test_finetune_without_two_identities_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Workspace(tmp_path / "empty").close()
    assert main(["finetune", str(tmp_path / "empty"), *QUICK]) == 2
    assert "at least 2 confirmed identities" in capsys.readouterr().err
