"""Short CPU training runs on generated identities: the model learns, outputs are written, resume is exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reid_core.checkpoint import load_model
from training.config import load_config
from training.data.local import read_identity_folders
from training.data.records import VideoDataset
from training.data.synthetic import write_identity_folders
from training.trainer import Trainer, evaluate_model

SMALL = dict(
    backbone="mobilenet_v2",
    input_size=(128, 64),
    ids_per_batch=4,
    tracklets_per_id=2,
    frames_per_clip=4,
    iterations_per_epoch=4,
    held_out_ids=0.0,
)


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    return read_identity_folders(write_identity_folders(tmp_path_factory.mktemp("ids"), range(6), tracklets=1))


@pytest.mark.slow
def test_loss_falls_and_outputs_are_written(identities, tmp_path: Path) -> None:
    torch.set_num_threads(2)
    config = load_config("rru_stim_lp.yaml", epochs=4, **{**SMALL, "iterations_per_epoch": 8})
    result = Trainer(config, identities, tmp_path, show_progress=False).run()
    totals = [row["total"] for row in result.history]
    assert totals[-1] < totals[0], totals
    for name in ("best.pt", "last.pt", "metrics.csv", "losses.png"):
        assert (tmp_path / name).is_file(), name
    assert load_model(result.best).rru is not None
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "total", "ce", "video", "part"} <= set(header)


@pytest.mark.slow
def test_resume_continues_the_same_run(identities, tmp_path: Path) -> None:
    config = load_config("rru_stim_lp.yaml", epochs=2, **{**SMALL, "iterations_per_epoch": 2})
    straight = Trainer(config, identities, tmp_path / "straight", show_progress=False)
    straight.run()
    first = Trainer(
        load_config("rru_stim_lp.yaml", epochs=1, **{**SMALL, "iterations_per_epoch": 2}),
        identities,
        tmp_path / "resumed",
        show_progress=False,
    )
    first.run()
    resumed = Trainer(config, identities, tmp_path / "resumed", show_progress=False)
    resumed.run(resume=True)
    assert resumed.start_epoch == 1
    assert [r["total"] for r in resumed.history] == pytest.approx([r["total"] for r in straight.history], rel=1e-4)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def seen_and_unseen(tmp_path_factory):
    """16 identities to train on and 16 others, never trained on, to rank across the two cameras."""
    everyone = read_identity_folders(write_identity_folders(tmp_path_factory.mktemp("ids32"), range(32), tracklets=1))
    seen = VideoDataset("seen", [r for r in everyone.train if r.pid < 16])
    unseen = [r for r in everyone.train if r.pid >= 16]
    query = [r for r in unseen if r.camid == 0]
    gallery = [r for r in unseen if r.camid == 1]
    return seen, VideoDataset("unseen", [], query, gallery)


@pytest.mark.slow
def test_training_beats_the_untrained_model_on_unseen_identities(seen_and_unseen, mobilenet_weights, tmp_path) -> None:
    """Cameras render colour differently (red and blue swapped), so matching must be learned."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every machine
    try:
        _train_and_compare(seen_and_unseen, mobilenet_weights, tmp_path)
    finally:
        torch.set_num_threads(threads)


def _train_and_compare(seen_and_unseen, mobilenet_weights, tmp_path) -> None:
    torch.manual_seed(0)  # the model's initialisation and the sampler: one fixed draw, not whatever ran before
    seen, unseen = seen_and_unseen
    config = load_config(
        "rru_stim_lp.yaml",
        epochs=1,
        backbone_weights=str(mobilenet_weights),
        **{**SMALL, "ids_per_batch": 8, "iterations_per_epoch": 40},
    )
    trainer = Trainer(config, seen, tmp_path, show_progress=False)
    before = evaluate_model(trainer.model, unseen)
    trainer.run()
    after = evaluate_model(trainer.model, unseen)
    chance = 1 / len(unseen.gallery)
    print(f"unseen rank-1: untrained {before.per_rank[1]:.3f}, trained {after.per_rank[1]:.3f}, chance {chance:.3f}")
    assert after.per_rank[1] >= 5 * chance
    assert after.per_rank[1] >= before.per_rank[1] + 0.15
    assert after.mean_ap > before.mean_ap
