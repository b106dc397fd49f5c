"""Every row of the reliability table (tests/reliability/cases.py) against the real CLI."""

from __future__ import annotations

import pytest

from tests.reliability.cases import CASES, prepare, run_case


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.name}" for c in CASES])
def test_case(case, base_workspace, tmp_path) -> None:
    reason = case.when()
    if reason:
        pytest.skip(reason)
    workspace, clip = base_workspace
    outcome = run_case(case, prepare(workspace, clip, tmp_path / "case"))
    assert outcome.ok, "\n".join(outcome.problems)
