"""A real PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl start`` on a
free localhost port (and a unix socket in that folder), one database per test, stopped at the end.

Debian's ``postgresql`` package puts the binaries in ``/usr/lib/postgresql/<major>/bin`` (not on
PATH); ``REID_PG_BIN`` points elsewhere. PostgreSQL refuses to run as root, so as root the server
binaries run as ``nobody`` (via ``runuser``) in a folder handed to that user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "reid"


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, newest major version first; None when absent."""
    candidates = [os.environ.get("REID_PG_BIN", "")]
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), key=_major, reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _major(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    socket_dir: Path

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, prefix: str = "ws") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy_database(self, url: str) -> str:
        """A new database holding what ``url``'s holds (no one may be connected to ``url`` meanwhile)."""
        import psycopg

        name = f"copy_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
        return self.url(name)


@contextmanager
def running_server(folder: Path) -> Iterator[PostgresServer]:
    """Start a throwaway server in ``folder`` (skips the test when the binaries are missing); as root,
    ``folder``'s parents must let ``nobody`` through (``tempfile.mkdtemp()`` itself is fine)."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("needs the PostgreSQL server binaries (Debian package 'postgresql'; or set REID_PG_BIN)")
    pytest.importorskip("psycopg", reason="needs psycopg 3 (pip install '.[postgres]')")
    folder.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        shutil.chown(folder, "nobody", "nogroup")
        folder.chmod(0o700)
        as_user = ["runuser", "-u", "nobody", "--"]
    data, log, port = folder / "data", folder / "server.log", _free_port()

    def run(*argv: str) -> None:
        result = subprocess.run([*as_user, *argv], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}{tail}")

    run(str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        yield PostgresServer("127.0.0.1", port, folder)
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
