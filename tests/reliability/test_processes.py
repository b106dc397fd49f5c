"""kill -9 in the middle of embedding, adapting and fine-tuning; two processes writing one workspace; Ctrl-C in
ingest, embed, adapt, finetune, people, train and distill."""

from __future__ import annotations

import random

import pytest

from tests.reliability.cases import interrupted_ingest_outcome, killed_embed_outcome, two_writers_outcome
from tests.reliability.interrupted import COMMANDS, interrupt_problem, interrupted_outcome
from tests.reliability.killed_training import killed_training_outcome


@pytest.mark.slow
def test_embed_killed_at_a_random_moment_then_rerun_equals_an_uninterrupted_run(base_workspace, tmp_path) -> None:
    seconds = random.Random().uniform(2.0, 12.0)  # process start-up is most of it; the seconds are in the name
    outcome = killed_embed_outcome(base_workspace[0], tmp_path, seconds)
    assert outcome.ok, f"{outcome.case.name}: " + "\n".join(outcome.problems)


@pytest.mark.slow
def test_two_ingest_processes_on_one_workspace(base_workspace, tmp_path) -> None:
    outcome = two_writers_outcome(base_workspace[0], tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)


@pytest.mark.slow
def test_ctrl_c_in_ingest_is_one_line_and_keeps_what_is_stored(base_workspace, tmp_path) -> None:
    outcome = interrupted_ingest_outcome(base_workspace[0], tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["adapt", "finetune"])
def test_training_killed_at_a_random_moment_then_rerun_equals_an_uninterrupted_run(kind, trainable, tmp_path) -> None:
    outcome = killed_training_outcome(kind, trainable, tmp_path, seed=19)
    assert outcome.ok, f"{outcome.case.name}: " + "\n".join(outcome.problems)


@pytest.mark.slow
@pytest.mark.parametrize("kind", COMMANDS)
def test_ctrl_c_in_a_long_command_is_one_line_and_keeps_what_is_stored(kind, trainable, tmp_path) -> None:
    problem = interrupt_problem(kind)
    if problem:
        pytest.skip(problem)
    outcome = interrupted_outcome(kind, trainable, tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)
