"""Running a command with its network system calls traced (strace), and reading the trace.

A network attempt is a ``connect``/``send*``/``bind`` on an internet socket (AF_INET, AF_INET6:
TCP, UDP, DNS to port 53). Local sockets (AF_UNIX: the name-service cache daemon answers user
lookups such as ``pwd.getpwuid`` there; AF_NETLINK) and merely creating a socket are not traffic.
"""

from __future__ import annotations

import re
import shutil
import subprocess
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


def traced_run(command: list[str], log: Path, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
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
