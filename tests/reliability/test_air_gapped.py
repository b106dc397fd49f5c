"""Zero network, proven: the CLI's commands, a retrain on confirmed matches and a case export run
with their network system calls traced.

Regression: onnxruntime's telemetry looked up mobile.events.data.microsoft.com every few
seconds while the detector ran. Not traced here, to keep the suite short: ``reid demo --no-gui``
(the same ingest, embed and query commands on 600 frames) and ``embed --device onnx`` (a
two-minute export; onnxruntime itself is exercised by the detector during ingest).
"""

from __future__ import annotations

import pytest

from tests.reliability.network_trace import app_commands, strace_problem, traced_commands


@pytest.mark.slow
def test_every_command_runs_without_touching_the_network(tmp_path) -> None:
    problem = strace_problem()
    if problem:
        pytest.skip(problem)
    results = traced_commands(tmp_path, app_commands(tmp_path))
    failed = {command: stderr[-1500:] for command, (code, _, stderr) in results.items() if code != 0}
    assert not failed, failed
    attempts = {command: lines[:3] for command, (_, lines, _) in results.items() if lines}
    assert attempts == {}, f"network attempts: {attempts}"
