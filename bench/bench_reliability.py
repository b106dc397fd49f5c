"""Reliability totals: every bad input of the table, a real full disk, and the network traced.

Runs the reliability suite's table (tests/reliability/cases.py) against the real CLI, the full
disk cases (a small tmpfs, where a mount namespace is allowed: embed, ingest, adapt, finetune),
embed killed with SIGKILL at 3, 6 and 9 s then rerun, adapt and finetune killed with SIGKILL at a
random moment (fixed seed) then rerun, two ingest processes on one workspace, Ctrl-C in ingest,
embed, adapt, finetune, people, train and distill, and the main commands under strace (where
strace runs), and prints per group and in total: cases tried, cases that went wrong, tracebacks
for bad input, code executions from data files, stored rows lost and network attempts.
Run: python bench/bench_reliability.py [--skip-trace] [--skip-full-disk]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.long_footage import kill_at, looped_clip, peak_rss_mib
from tests.reliability.cases import (
    CASES,
    build_base,
    full_disk_outcome,
    full_disk_problem,
    interrupted_ingest_outcome,
    killed_embed_outcome,
    prepare,
    run_case,
    two_writers_outcome,
)
from tests.reliability.full_disk_training import full_disk_training_outcome
from tests.reliability.interrupted import COMMANDS, interrupt_problem, interrupted_outcome
from tests.reliability.killed_training import build_trainable, killed_training_outcome
from tests.reliability.network_trace import app_commands, strace_problem, traced_commands

COLUMNS = ("tried", "wrong", "tracebacks", "code runs", "rows lost", "net attempts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-trace", action="store_true", help="do not run the commands under strace")
    parser.add_argument("--skip-full-disk", action="store_true", help="do not mount a small tmpfs")
    parser.add_argument("--footage-minutes", type=float, default=10.0, help="long footage (0: skip that part)")
    parser.add_argument("--stride", type=int, default=10, help="frame stride of the long-footage ingests")
    parser.add_argument("--only-footage", action="store_true", help="only the long-footage part")
    args = parser.parse_args()
    if args.footage_minutes > 0:
        long_footage(args.footage_minutes, args.stride)
    if args.only_footage:
        return
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base, clip = build_base(root / "base")
        outcomes = []
        for n, case in enumerate(CASES):
            reason = case.when()
            if reason:
                notes.append(f"skipped {case.group}/{case.name}: {reason}")
                continue
            outcomes.append(run_case(case, prepare(base, clip, root / f"case{n}")))
        problem = None if not args.skip_full_disk else "--skip-full-disk"
        problem = problem or full_disk_problem()
        for kind in ("embed", "ingest"):
            if problem:
                notes.append(f"skipped full disk during {kind}: {problem}")
            else:
                (root / f"disk-{kind}").mkdir()
                outcomes.append(full_disk_outcome(kind, base, root / f"disk-{kind}"))
        for seconds in (3.0, 6.0, 9.0):
            outcomes.append(killed_embed_outcome(base, root / f"kill-{seconds}", seconds))
        outcomes.append(two_writers_outcome(base, root / "writers"))
        outcomes.append(interrupted_ingest_outcome(base, root / "ctrl-c"))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            trainable = build_trainable(root / "trainable")
        for kind in ("adapt", "finetune"):
            if problem:
                notes.append(f"skipped full disk during {kind}: {problem}")
            else:
                outcomes.append(full_disk_training_outcome(kind, trainable, root / f"disk-{kind}"))
        for kind in ("adapt", "finetune"):
            outcomes.append(killed_training_outcome(kind, trainable, root / f"kill-{kind}", seed=19))
        for kind in COMMANDS:
            reason = interrupt_problem(kind)
            if reason:
                notes.append(f"skipped Ctrl-C in {kind}: {reason}")
                continue
            outcomes.append(interrupted_outcome(kind, trainable, root / f"ctrl-c-{kind}"))
        for o in outcomes:
            row = totals[o.case.group]
            row["tried"] += 1
            row["wrong"] += not o.ok
            row["tracebacks"] += bool(o.traceback)
            row["code runs"] += o.code_ran
            row["rows lost"] += o.rows_lost
            if o.case.group in ("kill -9", "Ctrl-C"):  # where each interruption landed
                notes.append(f"tried {o.case.group}: {o.case.name}" + ("" if o.problems else ": ok"))
            for line in o.problems:
                notes.append(f"WRONG {o.case.group}/{o.case.name}: {line[:300]}")
        problem = None if not args.skip_trace else "--skip-trace"
        problem = problem or strace_problem()
        if problem:
            notes.append(f"network not traced: {problem}")
        else:
            (root / "trace").mkdir()
            for command, (code, attempts, _) in traced_commands(root / "trace", app_commands(root / "trace")).items():
                row = totals["network (strace)"]
                row["tried"] += 1
                row["wrong"] += code != 0 or bool(attempts)
                row["net attempts"] += len(attempts)
                if code != 0 or attempts:
                    notes.append(f"WRONG reid {command[:60]}: exit {code}, network attempts {attempts[:2]}")
    print(f"{'group':<20}" + "".join(f"{c:>14}" for c in COLUMNS))
    for group, row in totals.items():
        print(f"{group:<20}" + "".join(f"{row[c]:>14}" for c in COLUMNS))
    total = {c: sum(row[c] for row in totals.values()) for c in COLUMNS}
    print(f"{'total':<20}" + "".join(f"{total[c]:>14}" for c in COLUMNS))
    for note in notes:
        print(note)
    print(f"({time.perf_counter() - started:.0f} s)")


def long_footage(minutes: float, stride: int) -> None:
    """Peak memory of a 1-minute and a ``minutes``-long ingest, and a kill -9 at 90% of the long one."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        short, long = looped_clip(root / "short.avi", 1.0), looped_clip(root / "long.avi", minutes)
        short_mib, _ = peak_rss_mib(root / "ws_short", short, stride)
        long_mib, long_seconds = peak_rss_mib(root / "ws_long", long, stride)
        frames = round(minutes * 600)
        kill = kill_at(root / "ws_killed", long, stride, 0.9, long_seconds / frames)
    print(f"long footage (vtest.avi looped, 10 fps, stride {stride}):")
    ratio = long_mib / short_mib
    print(f"  peak RSS: 1 min {short_mib:.0f} MiB, {minutes:g} min {long_mib:.0f} MiB (ratio {ratio:.3f})")
    total = frames // stride
    print(
        f"  kill -9 at ~90% of {minutes:g} min: resumed at frame {kill['resume_frame']} of {frames}; "
        f"the rerun processed {kill['rerun_processed']} of {total} frames ({kill['rerun_seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
