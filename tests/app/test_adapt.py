"""`reid adapt` on a real two-camera workspace: it never lowers mAP, and it refuses what its check rejects.

The workspace is vtest.avi cut into a left and a right camera (bench/labels/vtest_halves.json:
how the people were labelled is written there). Adaptation trains on no label; half of the people
seen by both cameras are confirmed, as an operator would, and judge the adapted model; the score
uses every label.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.pipeline.check_footage import labelled_workspace
from app.pipeline.identities import create_identity
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT
from tests.conftest import REPO_ROOT, SHARED_DATA, shared_file
from training.checksets import (
    LabelledTracklet,
    checkpoint_embedder,
    people_in_several_cameras,
    score_embedder,
    thinned,
    workspace_set,
)

LABELS = REPO_ROOT / "bench" / "labels" / "vtest_halves.json"
CROPS_PER_TRACKLET = 8  # scoring on 8 evenly spread crops keeps the test short


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> tuple[Path, list[LabelledTracklet]]:
    shared_file("video/vtest.avi")
    folder = labelled_workspace(LABELS, tmp_path_factory.mktemp("halves"), SHARED_DATA)
    return folder, workspace_set(folder, LABELS)


def fresh_copy(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    return target


def confirm_half_of_the_people(workspace: Path, tracklets: list[LabelledTracklet]) -> int:
    """Every other person seen by both cameras becomes a confirmed identity; returns how many queries."""
    confirmed = people_in_several_cameras(tracklets)[::2]
    with Workspace(workspace, create=False) as ws:
        for person in confirmed:
            create_identity(ws, [t.tracklet_id for t in tracklets if t.person == person])
    return sum(t.person in confirmed for t in tracklets)


@pytest.mark.slow
def test_adapt_does_not_lower_map_on_a_labelled_two_camera_workspace(halves, tmp_path: Path, capsys) -> None:
    folder, labelled = halves
    tracklets = thinned(labelled, CROPS_PER_TRACKLET)
    workspace = fresh_copy(folder, tmp_path / "ws")
    assert confirm_half_of_the_people(workspace, labelled) >= 8
    before = score_embedder(checkpoint_embedder(DEFAULT_REID_CHECKPOINT), tracklets)
    assert main(["adapt", str(workspace), "--device", "cpu", "--seed", "0"]) == 0
    said = capsys.readouterr().out
    with Workspace(workspace, create=False) as ws:
        models = ws.models()
    if "not activated" in said:  # refused: the default stays, so mAP cannot have dropped
        assert "confirmed cross-camera matches" in said and models == []
        return
    assert "accepted: confirmed matches" in said and len(models) == 1
    after = score_embedder(checkpoint_embedder(Path(models[0]["path"])), tracklets)
    assert after.mean_ap >= before.mean_ap - 0.01, (before, after)


@pytest.mark.slow
def test_adapt_refuses_to_activate_a_model_its_check_rejects(halves, tmp_path: Path, capsys) -> None:
    folder, labelled = halves
    workspace = fresh_copy(folder, tmp_path / "ws")
    confirm_half_of_the_people(workspace, labelled)
    with Workspace(workspace, create=False) as ws:
        active_before = ws.get_meta("active_model")
    # A step size that wrecks the heads in one epoch, with nothing holding them to the start model.
    wreck = ["--set", "lr=5.0", "anchor_weight=0.0", "iterations_per_epoch=10"]
    assert main(["adapt", str(workspace), "--embed", "--device", "cpu", "--epochs", "1", *wreck]) == 0
    said = capsys.readouterr().out
    assert "not activated" in said and "below the start model on the" in said and "confirmed" in said
    with Workspace(workspace, create=False) as ws:
        assert ws.models() == [] and ws.get_meta("active_model") == active_before
    assert not (workspace / "models").exists()


def test_adapt_without_confirmed_matches_says_what_it_needs_before_any_work(halves, tmp_path: Path, capsys) -> None:
    folder, _ = halves
    workspace = fresh_copy(folder, tmp_path / "ws")
    assert main(["adapt", str(workspace), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {workspace}: adapt judges its model by the confirmed"), err
    assert "0 tracklets have a confirmed match" in err[0] and "--check self" in err[0]
    with Workspace(workspace, create=False) as ws:
        assert ws.models() == []
