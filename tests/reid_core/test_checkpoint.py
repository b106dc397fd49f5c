"""Checkpoints are data: round trip, clear errors, and no code execution on load."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from reid_core.checkpoint import load_model, save_checkpoint
from reid_core.checkpoint_io import CheckpointError
from reid_core.model import ModelConfig, ReIDModel, variant_config


def test_round_trip_keeps_config_and_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ReIDModel(variant_config("rru_lstm", num_classes=4))
    path = save_checkpoint(model, tmp_path / "m.pt", meta={"note": "test"})
    loaded = load_model(path)
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_classifier_is_resized_for_new_identities(tmp_path: Path) -> None:
    model = ReIDModel(ModelConfig(num_classes=4))
    loaded = load_model(save_checkpoint(model, tmp_path / "m.pt"), num_classes=9)
    assert loaded.classifier.block[-1].out_features == 9
    torch.testing.assert_close(loaded.rru.gate.channel.weight, model.rru.gate.channel.weight)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_unreadable_file_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"broken\.pt"):
        load_model(path)


def test_missing_and_foreign_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_model(tmp_path / "absent.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an RRU\\+STIM"):
        load_model(tmp_path / "foreign.pt")


class Payload:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/reid_checkpoint_code_ran"),))


def test_pickled_code_is_never_executed(tmp_path: Path) -> None:
    marker = Path("/tmp/reid_checkpoint_code_ran")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"format": "rru-stim-reid", "state_dict": Payload()}, handle)
    with pytest.raises(CheckpointError, match=r"evil\.pt"):
        load_model(path)
    assert not marker.exists()
