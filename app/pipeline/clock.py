"""Clock time: when a camera saw someone, as the time of day, wherever a time is shown.

A video's start time is stored in seconds (``videos.start_time``; a tracklet's times add its frame
times to it). A start time from 2000-01-01 on is a Unix time: the camera's wall clock, read from the
file (an MP4/MOV header's creation time) or set by the operator, and shown as a date and time of day
(UTC, so that every camera and every export say the same). A smaller start time is a free time line
in seconds (as before clock time existed), and is shown in seconds.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

WALL_CLOCK_FROM = 946_684_800.0  # 2000-01-01 00:00:00 UTC
MP4_EPOCH = 2_082_844_800  # seconds from 1904-01-01 (QuickTime's epoch) to 1970-01-01
CONTAINERS = {b"moov"}


def is_wall_clock(seconds: float) -> bool:
    return seconds >= WALL_CLOCK_FROM


def format_time(seconds: float, date: bool = True) -> str:
    """``2026-12-01 14:03:05.2`` (UTC) for a clock time, ``12.3 s`` on a free time line."""
    if not is_wall_clock(seconds):
        return f"{seconds:.1f} s"
    whole = int(seconds)
    text = time.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S", time.gmtime(whole))
    return f"{text}.{int((seconds - whole) * 10)}"


def format_span(start: float, end: float) -> str:
    """A tracklet's times: ``2026-12-01 14:03:05.2–14:03:12.0`` (one date when both share it) or ``2.4–7.9 s``."""
    if not is_wall_clock(start):
        return f"{start:.1f}–{end:.1f} s"
    same_day = time.gmtime(int(start))[:3] == time.gmtime(int(end))[:3]
    return f"{format_time(start)}–{format_time(end, date=not same_day)}"


def start_from_metadata(path: str | Path) -> float | None:
    """The recording start an MP4/MOV file states (``mvhd`` creation time, UTC), if any."""
    try:
        with open(path, "rb") as handle:
            return _mvhd_creation(handle, 0, Path(path).stat().st_size)
    except (OSError, struct.error):
        return None


def _mvhd_creation(handle, start: int, end: int) -> float | None:
    position = start
    while position + 8 <= end:
        handle.seek(position)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", handle.read(8))[0], 16
        elif size == 0:
            size = end - position
        if size < header:
            return None
        if kind in CONTAINERS:
            return _mvhd_creation(handle, position + header, position + size)
        if kind == b"mvhd":
            version = handle.read(4)[0]
            created = struct.unpack(">Q" if version == 1 else ">I", handle.read(8 if version == 1 else 4))[0]
            seconds = float(created - MP4_EPOCH)
            return seconds if created and is_wall_clock(seconds) else None
        position += size
    return None


def default_start(path: str | Path, duration_s: float = 0.0) -> float:
    """A video's start time to offer the operator: the file's stated recording time, else its
    modification time less its duration (a recorder writes last at the end; a copy changes that
    time, which is why the operator sees it and can correct it)."""
    stated = start_from_metadata(path)
    if stated is not None:
        return stated
    try:
        return float(int(Path(path).stat().st_mtime - duration_s))
    except OSError:
        return 0.0
