"""Made-up people for distillation: each is one consistent person built from real tracklets."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from training.distill import (
    CropCache,
    DistillConfig,
    filmed_mask_share,
    masks_with_made_up_people,
    with_made_up_people,
)
from training.synthetic_people import MADE_UP, joined, made_up_people, recoloured


def striped(colour: tuple[int, int, int], other: tuple[int, int, int], frames: int = 3) -> list[np.ndarray]:
    crop = np.zeros((256, 128, 3), dtype=np.uint8)
    crop[:128], crop[128:] = colour, other
    return [crop.copy() for _ in range(frames)]


def hue(pixel: np.ndarray) -> int:
    return int(cv2.cvtColor(pixel.reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0, 0])


def test_recoloured_turns_every_frame_by_the_same_hue_and_keeps_the_shape() -> None:
    crops = striped((200, 40, 40), (40, 40, 200))
    out = recoloured(crops, hue_shift=60, saturation=1.0)
    assert [c.shape for c in out] == [c.shape for c in crops]
    assert {hue(c[10, 10]) for c in out} == {(hue(crops[0][10, 10]) + 60) % 180}  # one person: one change
    assert {hue(c[200, 10]) for c in out} == {(hue(crops[0][200, 10]) + 60) % 180}


def test_joined_takes_the_upper_body_of_one_tracklet_and_the_legs_of_the_other() -> None:
    upper, lower = striped((255, 0, 0), (0, 255, 0), frames=4), striped((0, 0, 255), (255, 255, 0), frames=3)
    out = joined(upper, lower, waist=0.5)
    assert len(out) == 3  # as many frames as the shorter one
    assert all(np.array_equal(c[:128], upper[0][:128]) and np.array_equal(c[128:], lower[0][128:]) for c in out)


def test_made_up_people_alternate_the_two_kinds_and_are_reproducible() -> None:
    units = [(f"cam{i}", striped((20 * i, 40, 90), (90, 20 * i, 40))) for i in range(6)]
    made = made_up_people(units, 6, np.random.default_rng(3))
    assert [camera for camera, _ in made] == ["synthetic/recoloured", "synthetic/joined"] * 3
    again = made_up_people(units, 6, np.random.default_rng(3))
    assert all(np.array_equal(a, b) for (_, x), (_, y) in zip(made, again) for a, b in zip(x, y))
    real = {c.tobytes() for _, crops in units for c in crops}
    assert all(c.tobytes() not in real for _, crops in made[::2] for c in crops)  # recoloured: new pixels


def test_made_up_people_follow_the_real_units_and_get_no_person_mask_to_trust() -> None:
    units = [(f"cam{i}", striped((30 * i, 60, 90), (90, 30 * i, 60), frames=4)) for i in range(5)]
    assert with_made_up_people(units, DistillConfig(made_up_people=0)) == units  # 0: none made up
    every = with_made_up_people(units, DistillConfig(made_up_people=4, seed=1))
    assert every[:5] == units and [c for c, _ in every[5:]] == ["synthetic/recoloured", "synthetic/joined"] * 2
    cache = CropCache(
        teacher=[np.zeros((len(crops), 8), np.float32) for _, crops in every], cameras=[c for c, _ in every]
    )
    real_masks = [np.full((4, 8, 4), 0.5, np.float16) for _ in units]
    real_reliable = [np.ones(4, bool) for _ in units]
    masks, reliable = masks_with_made_up_people(cache, real_masks, real_reliable)
    assert [m.shape[0] for m in masks] == [t.shape[0] for t in cache.teacher]
    assert all(m is r for m, r in zip(masks, real_masks)) and all(r.all() for r in reliable[:5])
    assert all(not r.any() and not m.any() and m.shape[1:] == (8, 4) for m, r in zip(masks[5:], reliable[5:]))
    assert filmed_mask_share(replace(cache, masks=masks, reliable=reliable)) == (20, 1.0)  # made-up crops not counted


def test_made_up_people_are_told_by_their_label_wherever_they_are_and_masks_must_fit() -> None:
    units = [("cam0", 4), (MADE_UP + "joined", 3), ("cam1", 2)]
    cache = CropCache(teacher=[np.zeros((n, 8), np.float32) for _, n in units], cameras=[c for c, _ in units])
    real = [np.full((4, 8, 4), 0.5, np.float16), np.full((2, 8, 4), 0.7, np.float16)]
    trusted = [np.array([True, False, True, True]), np.ones(2, bool)]
    masks, reliable = masks_with_made_up_people(cache, real, trusted)
    assert masks[0] is real[0] and masks[2] is real[1] and not reliable[1].any()
    assert filmed_mask_share(replace(cache, masks=masks, reliable=reliable)) == (6, 5 / 6)
    with pytest.raises(ValueError, match="the cache holds more filmed units"):
        masks_with_made_up_people(cache, real[:1], trusted[:1])
    with pytest.raises(ValueError, match="masks for more filmed units"):
        masks_with_made_up_people(cache, [*real, real[0]], [*trusted, trusted[0]])


def test_joining_needs_two_tracklets_long_enough_instead_of_drawing_for_ever() -> None:
    units = [("cam0", striped((200, 40, 40), (40, 40, 200), frames=4)), ("cam1", striped((9, 9, 9), (9, 9, 9), 1))]
    assert len(made_up_people(units, 1, np.random.default_rng(0), min_crops=2)) == 1  # a recoloured one needs no pair
    with pytest.raises(ValueError, match="two tracklets of at least 2 crops"):
        made_up_people(units, 2, np.random.default_rng(0), min_crops=2)
