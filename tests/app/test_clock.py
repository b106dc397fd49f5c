"""Clock time (issue 18 item 3): a camera's start from the file or the operator, shown as time of day."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from app.gui.clock_spin import ClockSpinBox, parse_time
from app.gui.dialogs import AddVideosDialog, duration
from app.pipeline.clock import MP4_EPOCH, default_start, format_span, format_time, start_from_metadata
from detector.video import cut_clip
from resources import DEMO_VIDEO

NOON = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC


def mp4_with_creation_time(path: Path, unix_seconds: int, version: int = 0) -> Path:
    """An MP4 header as cameras write it: ftyp, then moov holding mvhd with its creation time."""
    created = unix_seconds + MP4_EPOCH
    times = struct.pack(">QQ", created, created) if version else struct.pack(">II", created, created)
    mvhd_body = bytes([version, 0, 0, 0]) + times + b"\0" * 80
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom\0\0\0\1"
    free = struct.pack(">I4s", 12, b"free") + b"\0" * 4
    path.write_bytes(ftyp + free + moov)
    return path


def test_times_show_as_time_of_day_when_the_clock_is_known() -> None:
    assert format_time(NOON + 5.25) == "2025-12-01 12:00:05.2"
    assert format_span(NOON, NOON + 7.9) == "2025-12-01 12:00:00.0–12:00:07.9"
    assert format_span(NOON + 43_190, NOON + 43_210) == "2025-12-01 23:59:50.0–2025-12-02 00:00:10.0"
    assert format_time(40.0) == "40.0 s" and format_span(2.4, 7.9) == "2.4–7.9 s"  # a free time line stays seconds


def test_the_start_comes_from_the_file_header_else_from_its_time_less_its_length(tmp_path: Path) -> None:
    assert start_from_metadata(mp4_with_creation_time(tmp_path / "cam.mp4", int(NOON))) == NOON
    assert start_from_metadata(mp4_with_creation_time(tmp_path / "cam64.mp4", int(NOON), version=1)) == NOON
    clip = cut_clip(tmp_path / "lobby.avi", 0, 50, DEMO_VIDEO)  # AVI: no stated time
    os.utime(clip, (NOON, NOON))
    assert start_from_metadata(clip) is None and duration(clip) == 5.0
    assert default_start(clip, duration(clip)) == NOON - 5.0
    assert start_from_metadata(tmp_path / "missing.mp4") is None


def test_adding_videos_offers_each_camera_clock_and_returns_it(qtbot, tmp_path: Path) -> None:
    clip = cut_clip(tmp_path / "lobby.avi", 0, 50, DEMO_VIDEO)
    os.utime(clip, (NOON, NOON))
    dialog = AddVideosDialog([clip])
    qtbot.addWidget(dialog)
    assert dialog.entries() == [(clip, "lobby", NOON - 5.0)]
    dialog.starts[0].setDateTime(dialog.starts[0].dateTime().addSecs(3600))  # the operator corrects it
    assert dialog.entries()[0][2] == NOON + 3595.0


def test_the_time_filter_takes_seconds_or_a_utc_date(qtbot) -> None:
    assert parse_time("12.5 s") == 12.5 and parse_time("2025-12-01 12:00:05.5") == NOON + 5.5
    assert parse_time("2025-12-01 13:00") == NOON + 3600 and parse_time("noon") is None
    spin = ClockSpinBox()
    qtbot.addWidget(spin)
    spin.setValue(NOON)
    assert spin.text() == "2025-12-01 12:00:00.0" and spin.clock()
    spin.lineEdit().setText("2025-12-01 12:30:00")
    spin.interpretText()
    assert spin.value() == NOON + 1800
    spin.setValue(40.0)
    assert spin.text() == "40.0 s" and not spin.clock()
