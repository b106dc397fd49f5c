"""A real full disk (a small tmpfs) during embed and ingest: one error line, nothing stored is lost,
and a rerun with space finishes the work."""

from __future__ import annotations

import pytest

from tests.reliability.cases import full_disk_outcome, full_disk_problem


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["embed", "ingest"])
def test_full_disk(kind, base_workspace, tmp_path) -> None:
    problem = full_disk_problem()
    if problem:
        pytest.skip(problem)
    outcome = full_disk_outcome(kind, base_workspace[0], tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)
    if kind == "embed":
        assert outcome.code == 3, "a full disk is the machine's problem: exit code 3"
