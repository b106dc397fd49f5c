"""The rules of `reid adapt`'s confirmed-matches check: what it counts, what it scores, when it refuses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from reid_core.model import ModelConfig, ReIDModel
from training.adapt import (
    AdaptConfig,
    TrackletMaps,
    adapt,
    chance_of,
    confirmed_check,
    confirmed_needed,
    confirmed_queries,
)
from training.checksets import CheckScore, LabelledTracklet, cross_camera_score


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
    scored = confirmed_check(maps, people)(model)
    assert scored.mean_ap == pytest.approx(expected)
    assert len(scored.query_aps) == 4 and scored.query_aps.mean() == pytest.approx(expected)  # the 4 confirmed
    assert expected <= only_confirmed  # the distractors can only push the true matches down


def random_tracklets(model: ReIDModel, count: int = 12) -> list[TrackletMaps]:
    spec = model.spec
    return [
        TrackletMaps(f"cam{i % 2}", i % 2, (float(i), float(i) + 0.5), torch.randn(2, 4, spec.channels, *spec.map_size))
        for i in range(count)
    ]


PEOPLE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3}  # three confirmed people, each in both cameras: 6 queries


def quick(**settings: object) -> AdaptConfig:
    return replace(AdaptConfig(), **({"epochs": 1, "iterations_per_epoch": 2, "batch_size": 4} | settings))


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
    people = PEOPLE
    # no epoch can gain a whole mAP point: refused, and it says by how much it would have had to
    refused = adapt(model, maps, quick(min_gain=1.0, tolerance=1.0), log=lambda _: None, people=people)
    assert not refused.accepted and refused.model is None and len(refused.history) == 1
    assert "better than the start model by 1.0" in refused.reason
    # any epoch within a whole point below the start is enough when no gain is asked for
    lenient = quick(min_gain=-1.0, tolerance=1.0, max_worse_share=1.0, max_chance=1.0)
    accepted = adapt(model, maps, lenient, log=lambda _: None, people=people)
    assert accepted.accepted and accepted.model is not None
    assert accepted.reason.startswith("confirmed matches ") and "6 confirmed cross-camera matches" in accepted.check


def test_an_unknown_check_or_chance_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="check=labels: not a check"):
        AdaptConfig(check="labels")
    with pytest.raises(ValueError, match=r"max_chance=0\.0: must be above 0"):
        AdaptConfig(max_chance=0.0)


def test_a_model_the_confirmed_matches_like_but_the_self_check_rejects_is_refused(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    scores = iter([0.9, 0.1])  # the start model's held-out self-check, then the epoch's: far below
    monkeypatch.setattr("training.adapt.self_check", lambda *_: next(scores))
    config = quick(min_gain=-1.0, max_worse_share=1.0, max_chance=1.0)
    outcome = adapt(model, random_tracklets(model), config, log=lambda _: None, people=PEOPLE)
    assert not outcome.accepted and outcome.model is None
    assert "scored below the start model on the held-out self-check (0.9000 → 0.1000" in outcome.reason


def scripted_check(monkeypatch, *per_query: list[float]) -> None:
    """The confirmed check answers these per-match APs (start model first, then each epoch); the
    self-check always answers 0.5, so only the confirmed matches decide."""
    answers = iter([CheckScore(0.0, float(np.mean(aps)), len(aps), np.array(aps)) for aps in per_query])
    monkeypatch.setattr("training.adapt.confirmed_check", lambda *_: lambda _model: next(answers))
    monkeypatch.setattr("training.adapt.self_check", lambda *_: 0.5)


def test_a_model_ranking_over_a_tenth_of_the_confirmed_matches_worse_is_refused_whatever_it_gains(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    maps = random_tracklets(model)
    scripted_check(monkeypatch, [0.5] * 6, [1.0] * 5 + [0.4])  # mAP 0.50 → 0.90, one match lower
    lines: list[str] = []
    outcome = adapt(model, maps, quick(), log=lines.append, people=PEOPLE)  # a tenth of 6: none may fall
    assert not outcome.accepted and outcome.model is None
    assert "epoch 1 ranked" in outcome.reason
    assert "(0.5000 → 0.9000) but ranked 1 of those matches worse than the start model did" in outcome.reason
    assert "(0 allowed)" in outcome.reason
    assert (outcome.history[0]["better_matches"], outcome.history[0]["worse_matches"]) == (5, 1)
    assert any(line.endswith("(5 confirmed matches ranked better, 1 worse)") for line in lines)  # told each epoch
    scripted_check(monkeypatch, [0.5] * 6, [1.0] * 5 + [0.4])
    lenient = quick(max_worse_share=0.2, max_chance=0.2)  # 1 of 6 may fall; 5 up, 1 down is chance 7 times in 64
    allowed = adapt(model, maps, lenient, log=lambda _: None, people=PEOPLE)
    assert allowed.accepted and allowed.best_score == pytest.approx(0.9)
    assert allowed.kept_epoch_moves() == {"matches_better": 5, "matches_worse": 1}  # written in the model's record
    assert outcome.kept_epoch_moves() == {}  # refused: nothing kept


def test_chance_is_the_one_sided_sign_test_of_the_matches_ranked_better_against_worse() -> None:
    assert chance_of(0, 0) == 1.0  # nothing moved: no evidence at all
    assert chance_of(5, 0) == 1 / 32 and chance_of(4, 0) == 1 / 16
    assert chance_of(6, 1) == 8 / 128 and chance_of(5, 1) == 7 / 64 and chance_of(1, 5) == 63 / 64
    config = AdaptConfig()  # the fewest confirmed matches that can show a gain beyond chance at all
    assert config.min_confirmed_queries == min(n for n in range(1, 20) if chance_of(n, 0) <= config.max_chance)
    assert confirmed_needed(config) == 5 and confirmed_needed(replace(config, max_chance=0.01)) == 7  # 1/128


def test_a_stricter_chance_asks_for_more_confirmed_matches_before_any_work() -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    outcome = adapt(model, random_tracklets(model), quick(max_chance=0.01), log=lambda _: None, people=PEOPLE)
    assert not outcome.accepted and outcome.history == []
    assert "6 tracklets have a confirmed match in another camera (7 needed)" in outcome.reason


def test_a_refusal_by_chance_never_rounds_to_the_allowed_share(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    people = {i: i // 2 for i in range(20)}  # ten people in both cameras: 20 matches, 2 may fall
    start, epoch = [0.5] * 20, [0.9] * 8 + [0.4] * 2 + [0.5] * 10  # 8 up, 2 down: chance 5.47 %
    scripted_check(monkeypatch, start, epoch)
    outcome = adapt(model, random_tracklets(model, 24), quick(), log=lambda _: None, people=people)
    assert not outcome.accepted
    assert (
        "ranked only 8 of those matches better and 2 worse: chance alone does that 5.47% of the time" in outcome.reason
    )
    assert "(5% allowed; more confirmed matches tell a real gain from chance sooner)" in outcome.reason
    scripted_check(monkeypatch, start, [0.5] * 20)  # nothing moved: no evidence, said as such
    lenient = quick(min_gain=-1.0)
    nothing = adapt(model, random_tracklets(model, 24), lenient, log=lambda _: None, people=people)
    assert not nothing.accepted and "ranked none of those matches differently from the start model" in nothing.reason


def test_a_gain_carried_by_too_few_matches_to_tell_from_chance_is_refused(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    maps = random_tracklets(model)
    scripted_check(monkeypatch, [0.5] * 6, [1.0, 1.0] + [0.5] * 4)  # +0.167 mAP, but only two matches moved
    outcome = adapt(model, maps, quick(), log=lambda _: None, people=PEOPLE)
    assert not outcome.accepted and outcome.model is None
    assert "ranked only 2 of those matches better and 0 worse: chance alone does that 25% of the time" in outcome.reason
    assert "(5% allowed; more confirmed matches tell a real gain from chance sooner)" in outcome.reason
    scripted_check(monkeypatch, [0.5] * 6, [0.6] * 5 + [0.5])  # a smaller gain, but five matches up and none down
    assert adapt(model, maps, quick(), log=lambda _: None, people=PEOPLE).accepted


def test_the_best_epoch_that_meets_every_condition_is_kept_not_the_best_scoring_one(monkeypatch) -> None:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="omz_reid_0287")).eval()
    scripted_check(
        monkeypatch,
        [0.5] * 6,
        [1.0] * 5 + [0.4],  # epoch 1: best mAP, one match lower
        [0.6] * 5 + [0.5],  # epoch 2: +0.083, none lower
        [0.5] * 6,  # epoch 3: no gain
    )
    outcome = adapt(model, random_tracklets(model), quick(epochs=3), log=lambda _: None, people=PEOPLE)
    assert outcome.accepted and outcome.best_epoch == 2 and outcome.best_score == pytest.approx(3.5 / 6)
    assert [entry["refused"] is None for entry in outcome.history] == [False, True, False]
