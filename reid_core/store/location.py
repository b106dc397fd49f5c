"""Where a workspace lives: a folder (SQLite) or a PostgreSQL server's database given by URL.

Kept free of imports so that argument parsing (``reid --help``) can tell the two apart cheaply.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DATABASE_URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(DATABASE_URL_SCHEMES)


def workspace_location(text: str) -> str | Path:
    """A command-line workspace: a ``postgresql://`` URL kept as it is (a Path would fold its ``//``),
    anything else a folder path."""
    return text if is_database_url(text) else Path(text)


def without_password(url: str) -> str:
    """The URL as error messages may show it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
