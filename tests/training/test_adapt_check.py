"""The rules of `reid adapt`'s confirmed-matches check: what it counts, what it scores, when it refuses."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from reid_core.model import ModelConfig, ReIDModel
from training.adapt import AdaptConfig, TrackletMaps, adapt, confirmed_check, confirmed_queries
from training.checksets import LabelledTracklet, cross_camera_score


def test_only_confirmed_tracklets_with_a_confirmed_match_in_another_camera_count() -> None:
    cameras = ["a", "b", "b", "b", "c"]
    # person 1 in a and b (2 queries), person 2 twice in b only (0), person 3 in c only (0)
    assert confirmed_queries(cameras, {0: 1, 1: 1, 2: 2, 3: 2, 4: 3}) == 2
    assert confirmed_queries(cameras, {0: 1, 1: 1, 2: 1}) == 3  # a, b and b: each has one in another camera
    assert confirmed_queries(cameras, {}) == 0


def test_the_confirmed_check_is_the_cross_camera_map_with_unconfirmed_tracklets_as_distractors() -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    spec = model.spec
    maps = [
        TrackletMaps(f"cam{i % 2}", i % 2, (float(i), i + 0.5), torch.randn(2, 3, spec.channels, *spec.map_size))
        for i in range(8)
    ]
    people = {0: 7, 1: 7, 2: 9, 3: 9}  # two confirmed people, each in both cameras; 4..7 unconfirmed
    from training.adapt import tracklet_vector

    with torch.inference_mode():
        vectors = torch.stack([tracklet_vector(model, t.views[0]) for t in maps]).numpy()
    everyone = [LabelledTracklet(t.camera, people.get(i, 100 + i), []) for i, t in enumerate(maps)]
    expected = cross_camera_score(vectors, everyone).mean_ap
    only_confirmed = cross_camera_score(vectors[:4], everyone[:4]).mean_ap
    assert confirmed_check(maps, people)(model) == pytest.approx(expected)
    assert expected <= only_confirmed  # the distractors can only push the true matches down


def random_tracklets(model: ReIDModel, count: int = 12) -> list[TrackletMaps]:
    spec = model.spec
    return [
        TrackletMaps(f"cam{i % 2}", i % 2, (float(i), float(i) + 0.5), torch.randn(2, 4, spec.channels, *spec.map_size))
        for i in range(count)
    ]


def quick(**settings: object) -> AdaptConfig:
    return replace(AdaptConfig(), epochs=1, iterations_per_epoch=2, batch_size=4, **settings)


def test_too_few_confirmed_matches_is_refused_before_training() -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    outcome = adapt(model, random_tracklets(model), quick(), log=lambda _: None, people={0: 1, 1: 1})
    assert not outcome.accepted and outcome.history == []
    assert "too few confirmed matches" in outcome.reason and "2 tracklets" in outcome.reason


def test_a_model_that_does_not_rank_the_confirmed_matches_better_by_min_gain_is_refused() -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    maps = random_tracklets(model)
    people = {0: 1, 1: 1, 2: 2, 3: 2}
    # no epoch can gain a whole mAP point: refused, and it says by how much it would have had to
    refused = adapt(model, maps, quick(min_gain=1.0, tolerance=1.0), log=lambda _: None, people=people)
    assert not refused.accepted and refused.model is None and len(refused.history) == 1
    assert "better than the start model by 1.0" in refused.reason
    # any epoch within a whole point below the start is enough when no gain is asked for
    accepted = adapt(model, maps, quick(min_gain=-1.0, tolerance=1.0), log=lambda _: None, people=people)
    assert accepted.accepted and accepted.model is not None
    assert accepted.reason.startswith("confirmed matches ") and "4 confirmed cross-camera matches" in accepted.check


def test_an_unknown_check_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="check=labels: not a check"):
        AdaptConfig(check="labels")


def test_a_model_the_confirmed_matches_like_but_the_self_check_rejects_is_refused(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    scores = iter([0.9, 0.1])  # the start model's held-out self-check, then the epoch's: far below
    monkeypatch.setattr("training.adapt.self_check", lambda *_: next(scores))
    people = {0: 1, 1: 1, 2: 2, 3: 2}
    outcome = adapt(model, random_tracklets(model), quick(min_gain=-1.0), log=lambda _: None, people=people)
    assert not outcome.accepted and outcome.model is None
    assert "scored below the start model on the held-out self-check (0.9000 → 0.1000" in outcome.reason
