"""Regression: a detector file that runs code when unpickled (ultralytics unpickles .pt files)."""

from __future__ import annotations

import pytest

from app.cli import main
from tests.reliability.cases import write_payloads


@pytest.mark.parametrize("kind", ["pickle", "zip"])
def test_malicious_detector_is_refused_before_it_runs(kind, tmp_path, short_clip, capsys):
    marker = tmp_path / "code_ran"
    evil = write_payloads(tmp_path, marker)[kind]
    status = main(["ingest", str(tmp_path / "ws"), str(short_clip), "--detector", str(evil)])
    err = capsys.readouterr().err.strip().splitlines()
    assert not marker.exists(), "unpickling the detector file ran its code"
    assert status == 2
    assert len(err) == 1 and err[0].startswith(f"error: {evil}: refused"), err
