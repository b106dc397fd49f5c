"""Running a command with its network system calls traced (strace), and reading the trace.

A network attempt is a ``connect``/``send*``/``bind`` on an internet socket (AF_INET, AF_INET6:
TCP, UDP, DNS to port 53). Local sockets (AF_UNIX: the name-service cache daemon answers user
lookups such as ``pwd.getpwuid`` there; AF_NETLINK) and merely creating a socket are not traffic.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TRACED = "connect,sendto,sendmsg,sendmmsg,bind"
ATTEMPT = re.compile(r"\b(connect|sendto|sendmsg|sendmmsg|bind)\(.*AF_INET6?\b")


def strace_problem() -> str | None:
    """Why tracing cannot run here (None when it can): strace missing or ptrace not permitted."""
    if shutil.which("strace") is None:
        return "strace is not installed (Debian: apt-get install -y strace)"
    probe = subprocess.run(["strace", "-f", "-e", f"trace={TRACED}", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.strip()[:200]}"
    return None


def traced_run(command: list[str], log: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` under ``strace -f`` with its network calls written to ``log``."""
    return subprocess.run(
        ["strace", "-f", "-qq", "-e", f"trace={TRACED}", "-o", str(log), *command],
        capture_output=True,
        text=True,
        **kwargs,
    )


def network_attempts(log: Path) -> list[str]:
    """The trace lines that are attempts to reach the network."""
    return [line.strip() for line in log.read_text(errors="replace").splitlines() if ATTEMPT.search(line)]


def traced_commands(folder: Path, commands: list[list[str]]) -> dict[str, tuple[int, list[str], str]]:
    """Run each ``reid`` command under strace, in order, without the offline variables set from
    outside (the app must set them itself); {command line: (exit code, network attempts, stderr)}.
    A command ``["-c", CODE]`` runs the project's own code in a fresh traced interpreter instead: what
    only the app does (the case export, confirming a match) without a command of its own."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for name in ("ORT_DISABLE_TELEMETRY", "YOLO_OFFLINE", "YOLO_AUTOINSTALL"):
        env.pop(name, None)
    results = {}
    for n, args in enumerate(commands):
        log = folder / f"trace-{n}.txt"
        program = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "app.cli", *args]
        done = traced_run(program, log, env=env, cwd=folder, timeout=600)
        results[" ".join(args)] = (done.returncode, network_attempts(log), done.stderr)
    return results


def app_commands(folder: Path) -> list[list[str]]:
    """The commands traced: ingest two short clips, embed, query with re-ranking, adapt one iteration,
    confirm two matches as the operator does, retrain (finetune) on them, export the case of one, and
    the command-line demo (ingest, embed on onnxruntime, query) on short clips."""
    from app.pipeline.demo import DEMO_VIEWS
    from detector.video import cut_clip
    from resources import DEMO_VIDEO

    workspace = str(folder / "ws")
    clips = [str(cut_clip(folder / f"cam{i}.avi", start, 20, DEMO_VIDEO)) for i, start in enumerate((100, 500))]
    demo = folder / "demo"  # the demo's own clips, cut short beforehand (it cuts them only when missing)
    for (camera, *_), clip in zip(DEMO_VIEWS, clips, strict=True):
        (demo / "footage").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, demo / "footage" / f"{camera}.avi")
    quick = ["--epochs", "1", "--device", "cpu", "--set", "iterations_per_epoch=1", "clip_length=2", "check=self"]
    return [
        ["ingest", workspace, *clips, "--min-length", "4"],  # camera = file name: cam0, cam1
        ["embed", workspace, "--device", "cpu"],
        ["query", workspace, "1", "--top", "3", "--rerank"],
        ["adapt", workspace, "--out", str(folder / "adapted.pt"), *quick],
        ["-c", CONFIRM_TWO_MATCHES.format(workspace=workspace)],
        ["finetune", workspace, "--epochs", "1", "--device", "cpu", "--set", *FINETUNE_QUICK],
        ["-c", EXPORT_CASE.format(workspace=workspace, out=str(folder / "case"))],
        ["demo", str(demo), "--no-gui", "--queries", "1"],  # embeds on onnxruntime (--device auto on a CPU)
    ]


FINETUNE_QUICK = ["iterations_per_epoch=1", "frames_per_clip=2", "ids_per_batch=2"]

CONFIRM_TWO_MATCHES = """
from app.pipeline.identities import confirm_match
from reid_core.workspace import Workspace
with Workspace({workspace!r}, create=False) as ws:
    first, second = ([t.id for t in ws.tracklets() if t.camera == c] for c in ("cam0", "cam1"))
    confirm_match(ws, first[0], second[0])
    confirm_match(ws, first[1], second[1])
"""

EXPORT_CASE = """
from app.pipeline.case_export import export_case
from app.pipeline.identities import identities
from reid_core.workspace import Workspace
with Workspace({workspace!r}, create=False) as ws:
    export_case(ws, identities(ws)[0].id, {out!r})
"""
