"""``reid train`` and ``reid evaluate`` as a user runs them, on a generated set in iLIDS-VID's layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from reid_core.checkpoint import read_checkpoint
from training.data.synthetic import write_ilidsvid

TINY = ["backbone=mobilenet_v2", "input_size=[64,32]", "ids_per_batch=4", "frames_per_clip=2"]


@pytest.mark.slow
def test_train_then_evaluate_over_two_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_ilidsvid(tmp_path / "data", persons=12, frames=4)
    run = tmp_path / "run"
    args = ["train", "ilidsvid", str(data), "--split", "1", "--epochs", "2", "--out", str(run), "--device", "cpu"]
    assert main([*args, "--set", *TINY, "iterations_per_epoch=2"]) == 0
    assert {"best.pt", "last.pt", "metrics.csv", "losses.png"} <= {p.name for p in run.iterdir()}
    assert read_checkpoint(run / "best.pt")["meta"]["trained"] is True
    assert len((run / "metrics.csv").read_text().splitlines()) == 3  # header + one row per epoch

    out = tmp_path / "eval"
    evaluate = ["evaluate", "ilidsvid", str(data), "--checkpoint", str(run / "best.pt"), "--splits", "0,1"]
    assert main([*evaluate, "--out", str(out), "--device", "cpu"]) == 0
    table = (out / "results.md").read_text()
    for label in ("split 0", "split 1", "mean"):
        assert f"| {label} |" in table
    assert (out / "cmc.png").stat().st_size > 1000
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("split,mAP,R1") and len(rows) == 4
    assert "mean over 2 splits" in capsys.readouterr().out


def test_a_wrong_layout_names_the_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "i-LIDS-VID" / "sequences" / "cam1").mkdir(parents=True)
    assert main(["train", "ilidsvid", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(tmp_path / "i-LIDS-VID" / "sequences" / "cam2") in error
    assert not (tmp_path / "run").exists()
