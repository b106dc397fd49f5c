"""Distillation from the OMZ teacher: the student learns the teacher's similarities and records where it came from."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from reid_core.checkpoint import load_model, read_checkpoint
from reid_core.openvino_ir import read_ir
from tests.conftest import shared_file
from training.augment import augment
from training.data.synthetic import render_frame
from training.distill import DistillConfig, build_cache, distill
from training.teacher import Teacher

MAP_LAYER = 862
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_reid_distill_defaults_are_the_recipe_of_the_shipped_model() -> None:
    recipe = json.loads((REPO_ROOT / "resources" / "reid_default.recipe.json").read_text())
    defaults = asdict(DistillConfig())
    assert {key: recipe["config"][key] for key in defaults} == defaults
    assert "update gates pulled to person masks" in recipe["method"]  # the gate loss ran: masks were there


def generated_tracklets(people: int, cameras: int, crops: int) -> list[tuple[str, list[np.ndarray]]]:
    rng = np.random.default_rng(0)
    return [
        (f"cam{c}", [render_frame(pid, c, rng, (256, 128), seed=3) for _ in range(crops)])
        for pid in range(people)
        for c in range(cameras)
    ]


def test_augment_keeps_the_crop_shape_and_changes_its_pixels() -> None:
    crop = render_frame(1, 0, np.random.default_rng(1), (256, 128), seed=0)
    out = augment(crop, np.random.default_rng(2))
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - crop.astype(int)).mean() > 5
    assert np.array_equal(out, augment(crop, np.random.default_rng(2)))  # seeded: reproducible


@pytest.mark.slow
def test_distillation_learns_the_teachers_similarities_and_records_the_teacher(tmp_path: Path) -> None:
    xml = shared_file("teachers/intel_omz/person-reidentification-retail-0287.xml")
    teacher = Teacher(xml, MAP_LAYER)
    config = DistillConfig(views=2, clip_length=3, batch_size=8, iterations=40, lr=2e-3, seed=0)
    cache = build_cache(generated_tracklets(people=14, cameras=2, crops=3), teacher, config)
    out = tmp_path / "student.pt"
    result = distill(teacher, cache, out, config, {"data": ["generated"]}, log=lambda _: None)

    assert result.held_out_relation < 0.7 * result.start_relation  # unseen tracklets: the teacher's structure
    meta = read_checkpoint(out)["meta"]
    recipe = meta["recipe"]
    assert meta["trained"] is True and recipe["teacher"] == "person-reidentification-retail-0287"
    assert set(recipe["teacher_sha256"]) == {xml.name, xml.with_suffix(".bin").name}
    assert "Apache-2.0" in recipe["teacher_licence"] and "research-only" in recipe["teacher_licence"]
    assert out.with_suffix(".recipe.json").is_file()
    assert config.gate_weight > 0 and "update gates" not in recipe["method"]  # no masks: the gate loss never ran
    student = load_model(out)
    for name, value in read_ir(xml, output_layer=MAP_LAYER)[1].items():  # the frozen backbone is the teacher's
        assert torch.equal(student.backbone.net.consts[name], value)


def test_a_tracklets_teacher_vector_is_the_unit_mean_of_its_crops_embeddings() -> None:
    teacher = Teacher(shared_file("teachers/intel_omz/person-reidentification-retail-0287.xml"), MAP_LAYER)
    tracklets = [crops for _, crops in generated_tracklets(people=2, cameras=1, crops=3)]
    vectors = teacher.tracklet_vectors(tracklets)
    assert vectors.shape == (2, 256) and torch.allclose(vectors.norm(dim=1), torch.ones(2))
    mean = teacher(tracklets[1])[1].mean(axis=0)
    assert np.allclose(vectors[1].numpy(), mean / np.linalg.norm(mean), atol=1e-6)
    assert float(vectors[0] @ vectors[1]) < 0.99  # two people, two vectors
