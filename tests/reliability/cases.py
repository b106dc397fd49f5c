"""The reliability table: bad (and odd but valid) inputs to the real CLI, and what must happen.

Each case runs ``reid ...`` in this process on a fresh copy of a small real workspace (one
ingested and embedded 20-frame clip) and is judged on: the exit code, exactly one
``error: <file or value>: <problem>`` line naming the problem, no traceback, no code run from
a data file (a marker file a malicious payload would create), and no stored row lost. The
tests (``test_reliability_table.py``) and ``bench/bench_reliability.py`` run this same table.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

from app.cli import main
from detector.video import cut_clip
from reid_core.errors import EXIT_BAD_INPUT, EXIT_RESOURCE
from reid_core.workspace import DB_NAME
from resources import DEFAULT_DETECTOR, DEFAULT_REID_CHECKPOINT, DEMO_VIDEO

TABLES = ("cameras", "videos", "tracklets", "boxes", "crops", "models", "embeddings", "gate_maps")
ODD_NAME = 'it\'s "north"; DROP TABLE videos;-- Café ☕ %_'
FAST_INGEST = ["--min-length", "4"]


class _TouchesMarker:
    """Unpickling this object runs ``touch marker`` (what a malicious weights file does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch '{self.marker}'",))


def write_payloads(folder: Path, marker: Path) -> dict[str, Path]:
    """A plain pickle and a zip-format torch file, each creating ``marker`` when unpickled."""
    plain = folder / "evil_pickle.pt"
    plain.write_bytes(pickle.dumps({"model": _TouchesMarker(marker)}))
    archive = folder / "evil_zip.pt"
    torch.save({"model": _TouchesMarker(marker)}, archive)
    return {"pickle": plain, "zip": archive}


@dataclass
class Inputs:
    """What one case may use: its own folder, workspace copy, clip and payloads."""

    folder: Path
    workspace: Path
    clip: Path
    marker: Path
    payloads: dict[str, Path]

    def file(self, name: str, data: bytes = b"") -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def half_of(self, source: Path, name: str) -> Path:
        data = source.read_bytes()
        return self.file(name, data[: len(data) // 2])

    def directory(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir()
        return path


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    argv: Callable[[Inputs], list[str]]
    code: int  # the exit code the command must end with
    says: str = ""  # words the one error line must contain (after its file or value)
    keeps_rows: bool = True  # False where the case damages the workspace itself
    check: Callable[[Inputs], None] | None = None  # more assertions for a case that must succeed
    when: Callable[[], str | None] = lambda: None  # a reason to skip here, or None


@dataclass
class Outcome:
    case: Case
    code: int
    error_lines: list[str]
    traceback: str = ""
    code_ran: bool = False
    rows_lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def row_counts(workspace: Path) -> dict[str, int]:
    path = workspace / DB_NAME
    if not path.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    except sqlite3.Error:
        return {}


def build_base(folder: Path) -> tuple[Path, Path]:
    """(workspace, clip): 20 frames of the demo footage ingested and embedded on the CPU."""
    folder.mkdir(parents=True, exist_ok=True)
    clip = cut_clip(folder / "short.avi", 100, 20, source=DEMO_VIDEO)
    workspace = folder / "base_ws"
    for argv in (["ingest", str(workspace), str(clip), "--camera", "north", *FAST_INGEST], ["embed", str(workspace)]):
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main([*argv, *(["--device", "cpu"] if argv[0] == "embed" else [])]) == 0
    assert row_counts(workspace)["embeddings"] > 0, "the base clip must give embedded tracklets"
    return workspace, clip


def prepare(base: Path, clip: Path, folder: Path) -> Inputs:
    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / "ws"
    shutil.copytree(base, workspace)
    marker = folder / "code_ran"
    return Inputs(folder, workspace, clip, marker, write_payloads(folder, marker))


def run_case(case: Case, inputs: Inputs) -> Outcome:
    """Run one case in this process and judge it."""
    argv = [str(a) for a in case.argv(inputs)]
    before = row_counts(inputs.workspace)
    err, tb = io.StringIO(), ""
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        except Exception:
            tb, code = traceback.format_exc(), -1
    lines = [line for line in err.getvalue().splitlines() if line.startswith("error:")]
    after = row_counts(inputs.workspace)
    lost = sum(max(n - after.get(t, 0), 0) for t, n in before.items()) if case.keeps_rows else 0
    outcome = Outcome(case, code, lines, tb or ("Traceback" in err.getvalue()) * err.getvalue(), inputs.marker.exists())
    outcome.rows_lost = lost
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + outcome.traceback[-1500:])
    if outcome.code_ran:
        outcome.problems.append("a data file ran code")
    if lost:
        outcome.problems.append(f"{lost} stored rows lost ({before} -> {after})")
    if code != case.code:
        outcome.problems.append(f"exit code {code}, expected {case.code}; stderr: {err.getvalue()[-600:]}")
    if case.code != 0:
        if len(lines) != 1:
            outcome.problems.append(f"expected one error line, got {lines}")
        elif case.says.lower() not in lines[0].lower():
            outcome.problems.append(f"error line {lines[0]!r} does not say {case.says!r}")
    elif case.check is not None and not outcome.traceback:
        try:
            case.check(inputs)
        except AssertionError as exc:
            outcome.problems.append(f"check failed: {exc}")
    return outcome


# -- helpers for the table -------------------------------------------------------------------
def _no_gpu() -> str | None:
    return "a CUDA GPU is present: the no-GPU case does not apply" if torch.cuda.is_available() else None


def _video(width: int, height: int, frames: int, name: str, folder: Path) -> Path:
    path = folder / name
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (width, height))
    for i in range(frames):
        writer.write(np.full((height, width, 3), 40 + i, np.uint8))
    writer.release()
    return path


def _no_pyav() -> str | None:
    try:
        import av  # noqa: F401  (the dev extra: it writes the variable-frame-rate file)
    except ImportError:
        return "PyAV (the dev extra's 'av') is not installed: no variable-frame-rate file can be made"
    return None


VFR_GAPS = (0.04,) * 12 + (0.2,) * 12  # seconds before each frame: 25 fps, then 5 fps


def vfr_video(folder: Path, suffix: str = ".mp4") -> Path:
    """A real variable-frame-rate MP4 (PyAV, MPEG-4 part 2): demo frames at 25 fps, then a cut to
    another moment at 5 fps (so tracklets end and start in the middle, where ``frame / fps`` with the
    average rate is furthest from the real time)."""
    import av

    path = folder / f"variable rate{suffix}"
    capture = cv2.VideoCapture(str(DEMO_VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 300)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for n, gap in enumerate(VFR_GAPS):
            if n == len(VFR_GAPS) // 2:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 700)
            ok, image = capture.read()
            assert ok, DEMO_VIDEO
            if pts == 0:
                stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)  # ms (the muxer may pick its own base)
            container.mux(stream.encode(frame))
            pts += round(gap * 1000)
        container.mux(stream.encode())
    capture.release()
    return path


def container_times(path: Path) -> list[float]:
    """Each frame's presentation time (s) as the container gives it, read with PyAV (not OpenCV)."""
    import av

    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def _times_follow_the_container(inputs: Inputs) -> None:
    _stored_videos(inputs, 2)
    times = container_times(inputs.folder / "variable rate.mp4")
    with contextlib.closing(sqlite3.connect(inputs.workspace / DB_NAME)) as db:
        fps = db.execute("SELECT fps FROM videos WHERE path LIKE '%variable rate.mp4'").fetchone()[0]
        rows = db.execute(
            "SELECT t.start_frame, t.end_frame, t.start_time, t.end_time FROM tracklets t JOIN videos v "
            "ON v.id = t.video_id WHERE v.path LIKE '%variable rate.mp4'"
        ).fetchall()
    assert rows, "no tracklet stored from the variable-frame-rate file"
    frame = min(VFR_GAPS)
    for first, last, start, end in rows:
        assert abs(start - times[first]) < frame and abs(end - times[last]) < frame, (first, last, start, end, times)
    off = [abs(f / fps - times[f]) for first, last, _, _ in rows for f in (first, last)]
    assert max(off) > max(VFR_GAPS), f"frame / fps would be as right here: the test proves nothing ({off})"


def _newer_schema(inputs: Inputs) -> Path:
    with contextlib.closing(sqlite3.connect(inputs.workspace / DB_NAME)) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        db.commit()
    return inputs.workspace


def _replace_db(inputs: Inputs, data: bytes) -> Path:
    for extra in inputs.workspace.glob(DB_NAME + "-*"):
        extra.unlink()
    (inputs.workspace / DB_NAME).write_bytes(data)
    return inputs.workspace


def _foreign_db(inputs: Inputs) -> Path:
    _replace_db(inputs, b"")
    with contextlib.closing(sqlite3.connect(inputs.workspace / DB_NAME)) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        db.commit()
    return inputs.workspace


def _half_written(inputs: Inputs) -> Path:
    with contextlib.closing(sqlite3.connect(inputs.workspace / DB_NAME)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = (inputs.workspace / DB_NAME).read_bytes()
    return _replace_db(inputs, data[: len(data) // 3])


def _new_clip(inputs: Inputs) -> Path:
    """A clip the workspace does not hold yet (a stored one is skipped before the detector loads)."""
    return cut_clip(inputs.folder / "new.avi", 300, 4, source=DEMO_VIDEO)


def _stored_videos(inputs: Inputs, count: int) -> None:
    stored = row_counts(inputs.workspace)["videos"]
    assert stored == count, f"{stored} videos stored, expected {count}"


def _odd_names_stored(inputs: Inputs) -> None:
    _stored_videos(inputs, 2)
    with contextlib.closing(sqlite3.connect(inputs.workspace / DB_NAME)) as db:
        names = {r[0] for r in db.execute("SELECT name FROM cameras")}
    assert ODD_NAME in names, names


def _odd_ingest(inputs: Inputs) -> list:
    odd = cut_clip(inputs.folder / f"{ODD_NAME}.avi", 300, 12, source=DEMO_VIDEO)
    return ["ingest", inputs.workspace, odd, "--camera", ODD_NAME, *FAST_INGEST]


def _folders_one_camera(inputs: Inputs) -> Path:
    root = inputs.directory("folders")
    for person in ("0001", "0002"):
        (root / person / "cam1" / "t1").mkdir(parents=True)
    return root


W = lambda i: i.workspace  # noqa: E731  (the table reads best with a short name)

CASES: list[Case] = [
    # -- command-line values --------------------------------------------------------------------
    Case("values", "query --top 0", lambda i: ["query", W(i), "1", "--top", "0"], 2, "--top"),
    Case("values", "query --top -5", lambda i: ["query", W(i), "1", "--top", "-5"], 2, "--top"),
    Case("values", "query --top abc", lambda i: ["query", W(i), "1", "--top", "abc"], 2, "not a whole number"),
    Case("values", "query tracklet 0", lambda i: ["query", W(i), "0"], 2, "must be at least 1"),
    Case("values", "query tracklet missing", lambda i: ["query", W(i), "999999"], 2, "999999"),
    Case("values", "query --after nan", lambda i: ["query", W(i), "1", "--after", "nan"], 2, "finite"),
    Case("values", "ingest --stride 0", lambda i: ["ingest", W(i), i.clip, "--stride", "0"], 2, "--stride"),
    Case("values", "ingest --max-crops -1", lambda i: ["ingest", W(i), i.clip, "--max-crops", "-1"], 2, "--max-crops"),
    Case("values", "ingest --tracker foo", lambda i: ["ingest", W(i), i.clip, "--tracker", "foo"], 2, "--tracker"),
    Case("values", "adapt --epochs 0", lambda i: ["adapt", W(i), "--epochs", "0"], 2, "--epochs"),
    Case("values", "train --split -1", lambda i: ["train", "ilidsvid", i.folder, "--split", "-1"], 2, "--split"),
    Case("values", "embed --device tpu", lambda i: ["embed", W(i), "--device", "tpu"], 2, "--device"),
    Case(
        "machine",
        "embed --device cuda, no GPU",
        lambda i: ["embed", W(i), "--device", "cuda"],
        3,
        "no CUDA",
        when=_no_gpu,
    ),
    # -- re-ID checkpoints (--model) ------------------------------------------------------------
    Case("checkpoints", "missing", lambda i: ["embed", W(i), "--model", i.folder / "nope.pt"], 2, "no such file"),
    Case("checkpoints", "directory", lambda i: ["embed", W(i), "--model", i.directory("ckpt")], 2, "not a file"),
    Case("checkpoints", "empty", lambda i: ["embed", W(i), "--model", i.file("empty.pt")], 2, "not a readable"),
    Case(
        "checkpoints",
        "truncated",
        lambda i: ["embed", W(i), "--model", i.half_of(DEFAULT_REID_CHECKPOINT, "half.pt")],
        2,
        "not a readable",
    ),
    Case(
        "checkpoints",
        "foreign (ImageNet backbone)",
        lambda i: ["embed", W(i), "--model", _imagenet_state(i)],
        2,
        "not an RRU+STIM",
    ),
    Case(
        "checkpoints",
        "foreign (OSNet, torchreid's layout)",
        lambda i: ["embed", W(i), "--model", _osnet_checkpoint(i)],
        2,
        "not an RRU+STIM",
    ),
    Case("checkpoints", "an ONNX graph", lambda i: ["embed", W(i), "--model", DEFAULT_DETECTOR], 2, "not a readable"),
    Case("checkpoints", "pickle payload", lambda i: ["embed", W(i), "--model", i.payloads["pickle"]], 2, "not a"),
    Case("checkpoints", "zip payload", lambda i: ["embed", W(i), "--model", i.payloads["zip"]], 2, "not a readable"),
    # -- detectors (--detector) -----------------------------------------------------------------
    Case(
        "detectors",
        "missing",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.folder / "no.onnx"],
        2,
        "no such",
    ),
    Case(
        "detectors",
        "directory",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.directory("d")],
        2,
        "not a file",
    ),
    Case(
        "detectors", "empty", lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.file("e.onnx")], 2, "empty file"
    ),
    Case(
        "detectors",
        "truncated ONNX",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.half_of(DEFAULT_DETECTOR, "half.onnx")],
        2,
        "not a usable detector",
    ),
    Case(
        "detectors",
        "random bytes .onnx",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.file("r.onnx", os.urandom(4096))],
        2,
        "not a usable detector",
    ),
    Case(
        "detectors",
        "re-ID checkpoint as detector",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", DEFAULT_REID_CHECKPOINT],
        2,
        "not a usable detector",
    ),
    Case(
        "detectors",
        "foreign (ImageNet classifier)",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", _imagenet_state(i)],
        2,
        "not a usable detector",
    ),
    Case(
        "detectors",
        "foreign (OSNet re-ID, torchreid's layout)",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", _osnet_checkpoint(i)],
        2,
        "not a usable detector",
    ),
    Case(
        "detectors",
        "a text file",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.file("d.txt", b"x")],
        2,
        "format",
    ),
    Case(
        "detectors",
        "pickle payload",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.payloads["pickle"]],
        2,
        "refused",
    ),
    Case(
        "detectors",
        "zip payload",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector", i.payloads["zip"]],
        2,
        "refers to code",
    ),
    Case(
        "machine",
        "detector on cuda, no GPU",
        lambda i: ["ingest", W(i), _new_clip(i), "--detector-device", "cuda:0"],
        3,
        "no CUDA",
        when=_no_gpu,
    ),
    # -- videos -----------------------------------------------------------------------------------
    Case("videos", "missing", lambda i: ["ingest", W(i), i.folder / "none.avi"], 2, "no such file"),
    Case("videos", "directory", lambda i: ["ingest", W(i), i.directory("v.avi")], 2, "not a file"),
    Case("videos", "zero bytes", lambda i: ["ingest", W(i), i.file("zero.mp4")], 2, "empty file"),
    Case("videos", "not a video", lambda i: ["ingest", W(i), i.file("notes.mp4", b"meeting notes\n" * 99)], 2, "video"),
    Case("videos", "truncated", lambda i: ["ingest", W(i), i.half_of(i.clip, "cut.avi")], 2, "truncated"),
    Case(
        "videos",
        "huge resolution (7680x4320), accepted",
        lambda i: ["ingest", W(i), _video(7680, 4320, 3, "huge.avi", i.folder), *FAST_INGEST],
        0,
        check=lambda i: _stored_videos(i, 2),
    ),
    Case(
        "videos",
        "variable frame rate (accepted; tracklet times from the container's timestamps)",
        lambda i: ["ingest", W(i), vfr_video(i.folder), "--camera", "vfr", *FAST_INGEST],
        0,
        check=_times_follow_the_container,
        when=_no_pyav,
    ),
    # -- workspaces -------------------------------------------------------------------------------
    Case("workspaces", "missing (query)", lambda i: ["query", i.folder / "nowhere", "1"], 2, "no workspace here"),
    Case(
        "workspaces",
        "corrupt",
        lambda i: ["query", _replace_db(i, os.urandom(8192)), "1"],
        2,
        "workspace.sqlite",
        keeps_rows=False,
    ),
    Case(
        "workspaces",
        "foreign SQLite",
        lambda i: ["embed", _foreign_db(i)],
        2,
        "not a re-ID workspace",
        keeps_rows=False,
    ),
    Case("workspaces", "newer schema", lambda i: ["embed", _newer_schema(i)], 2, "newer than this program"),
    Case(
        "workspaces",
        "half-written",
        lambda i: ["query", _half_written(i), "1"],
        2,
        "workspace.sqlite",
        keeps_rows=False,
    ),
    Case(
        "workspaces", "a file, not a folder", lambda i: ["query", i.file("ws.txt", b"x"), "1"], 2, "no workspace here"
    ),
    # -- dataset folders --------------------------------------------------------------------------
    Case("datasets", "iLIDS-VID: empty folder", lambda i: ["train", "ilidsvid", i.directory("ilids")], 2, "ilids"),
    Case("datasets", "PRID-2011: a file", lambda i: ["train", "prid2011", i.file("prid.txt", b"x")], 2, "prid"),
    Case("datasets", "MARS: empty folder", lambda i: ["train", "mars", i.directory("mars")], 2, "mars"),
    Case("datasets", "folders: one camera only", lambda i: ["train", "folders", _folders_one_camera(i)], 2, "folders"),
    # -- names ------------------------------------------------------------------------------------
    Case("names", "quotes, SQL, unicode, spaces in camera and file names", _odd_ingest, 0, check=_odd_names_stored),
]


def _imagenet_state(inputs: Inputs) -> Path:
    """A foreign checkpoint: a plain backbone state dict (what an ImageNet download looks like)."""
    from torchvision import models

    path = inputs.folder / "mobilenet_v2_imagenet.pt"
    torch.save(models.mobilenet_v2(weights=None).state_dict(), path)
    return path


def _osnet_checkpoint(inputs: Inputs) -> Path:
    """A foreign re-ID checkpoint as torchreid saves one (``state_dict``, ``epoch``, ``rank1``,
    ``optimizer``), with OSNet-x1.0's key names and shapes for its stem, first block and heads."""
    shapes = {
        "conv1.conv.weight": (64, 3, 7, 7),
        "conv1.bn.weight": (64,),
        "conv1.bn.bias": (64,),
        "conv2.0.conv1.conv.weight": (64, 64, 1, 1),
        "conv2.0.conv2a.layers.0.conv1.weight": (64, 64, 1, 1),
        "conv2.0.gate.fc1.weight": (4, 64, 1, 1),
        "fc.0.weight": (512, 512),
        "fc.1.running_mean": (512,),
        "classifier.weight": (751, 512),
        "classifier.bias": (751,),
    }
    state = {name: torch.randn(shape) for name, shape in shapes.items()}
    path = inputs.folder / "osnet_x1_0_market.pt"  # torchreid names them .pth.tar; .pt reaches the content checks
    torch.save({"state_dict": state, "epoch": 250, "rank1": 0.94, "optimizer": {}}, path)
    return path


EXPECTED_CODES = {0, EXIT_BAD_INPUT, EXIT_RESOURCE}


# -- a real full disk: a small tmpfs in a private mount namespace ------------------------------
def full_disk_problem() -> str | None:
    """Why a tmpfs cannot be mounted here (None when it can): needs util-linux unshare and root."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, text=True
    )
    return None if probe.returncode == 0 else f"cannot mount a tmpfs here: {probe.stderr.strip()[:120]}"


def unembedded_copy(base: Path, folder: Path) -> Path:
    """A compact copy of ``base`` without its embeddings (what ``reid embed`` starts from)."""
    workspace = folder / "unembedded"
    shutil.copytree(base, workspace)
    with contextlib.closing(sqlite3.connect(workspace / DB_NAME, isolation_level=None)) as db:
        for table in ("gate_maps", "embeddings", "models"):
            db.execute(f"DELETE FROM {table}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    return workspace


def run_on_full_disk(
    workspace: Path, argv: list[str], spare_kib: int, out: Path, fill: bool = False
) -> tuple[int, list[str], str]:
    """Run ``reid ARGV`` (``WS`` stands for the workspace) on a copy of ``workspace`` in a tmpfs with
    ``spare_kib`` free (``fill``: then filled up before the command starts); the workspace as the
    command left it is copied back to ``out``. Returns (exit code, error lines, all of stderr)."""
    used_kib = sum(f.stat().st_size for f in workspace.iterdir()) // 1024 + 1
    mount = out.parent / f"{out.name}-tmpfs"
    mount.mkdir(parents=True)
    args = " ".join(shlex.quote(str(mount / "ws") if a == "WS" else str(a)) for a in argv)
    filler = f"(dd if=/dev/zero of={shlex.quote(str(mount / 'fill'))} bs=1k 2>/dev/null; true) && " if fill else ""
    script = (
        f"mount -t tmpfs -o size={used_kib + spare_kib}k tmpfs {shlex.quote(str(mount))} && "
        f"cp -a {shlex.quote(str(workspace))} {shlex.quote(str(mount / 'ws'))} && {filler}"
        f"{shlex.quote(sys.executable)} -m app.cli {args}; status=$?; "
        f"cp -a {shlex.quote(str(mount / 'ws'))} {shlex.quote(str(out))}; exit $status"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    return done.returncode, lines, done.stderr


def full_disk_outcome(kind: str, base: Path, folder: Path) -> Outcome:
    """``reid embed`` or ``reid ingest`` on a disk that fills up, then a rerun with space:
    judged like a table row (one error line, no traceback, no row lost) plus the rerun finishing."""
    workspace = unembedded_copy(base, folder)
    before = row_counts(workspace)
    if kind == "embed":
        argv: list = ["embed", "WS", "--device", "cpu"]
    else:
        argv = ["ingest", "WS", cut_clip(folder / "more.avi", 300, 12, source=DEMO_VIDEO), *FAST_INGEST]
    after_path = folder / "after"
    code, errors, stderr = run_on_full_disk(workspace, argv, 48, after_path)
    case = Case("full disk", f"{kind} on a full tmpfs", lambda i: argv, code=code if code else -1, says="disk")
    outcome = Outcome(case, code, errors, stderr if "Traceback" in stderr else "")
    after = row_counts(after_path)
    outcome.rows_lost = sum(max(n - after.get(t, 0), 0) for t, n in before.items())
    if code == 0 or len(errors) != 1 or "disk" not in errors[0]:
        outcome.problems.append(f"expected one 'disk full' error line and a failure, got {code}: {stderr[-600:]}")
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + stderr[-1500:])
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost ({before} -> {after})")
    rerun = [str(a) for a in argv]
    rerun[1] = str(after_path)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        status = main(rerun)
    done = row_counts(after_path)
    finished = done["embeddings"] == done["tracklets"] if kind == "embed" else done["videos"] == before["videos"] + 1
    if status != 0 or not finished:
        outcome.problems.append(f"the rerun with space did not finish the work: exit {status}, {done}")
    return outcome


# -- processes: kill -9 and two writers ---------------------------------------------------------
def _cli(args: list) -> list[str]:
    return [sys.executable, "-m", "app.cli", *(str(a) for a in args)]


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def sigint_default() -> None:
    """In the child before it runs: Ctrl-C does its default again. A process started in the
    background by a shell (a benchmark run with ``&``) inherits SIGINT ignored, and Python then
    leaves it ignored: the Ctrl-C cases would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _embeddings(workspace: Path) -> dict[int, bytes]:
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        return dict(db.execute("SELECT tracklet_id, vector FROM embeddings"))


def killed_embed_outcome(base: Path, folder: Path, seconds: float) -> Outcome:
    """``reid embed`` killed with SIGKILL after ``seconds``, then rerun: the vectors must equal
    those of an uninterrupted run (``base`` was embedded without interruption)."""
    workspace = unembedded_copy(base, folder)
    before = row_counts(workspace)
    embed = _cli(["embed", workspace, "--device", "cpu"])
    process = subprocess.Popen(embed, env=_cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    case = Case("kill -9", f"embed killed after {seconds:.1f} s, then rerun", lambda i: [], 0)
    outcome = Outcome(case, process.returncode, [])
    after_kill = row_counts(workspace)
    outcome.rows_lost = sum(max(n - after_kill.get(t, 0), 0) for t, n in before.items())
    rerun = subprocess.run(embed, env=_cli_env(), capture_output=True, text=True)
    if rerun.returncode != 0 or "Traceback" in rerun.stderr:
        outcome.traceback = rerun.stderr if "Traceback" in rerun.stderr else ""
        outcome.problems.append(f"the rerun failed: {rerun.stderr[-600:]}")
    if _embeddings(workspace) != _embeddings(base):
        outcome.problems.append("embeddings after kill + rerun differ from an uninterrupted run")
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost by the kill")
    return outcome


def two_writers_outcome(base: Path, folder: Path) -> Outcome:
    """Two ``reid ingest`` processes writing one workspace at the same time: both succeed, both
    videos are stored whole, nothing stored before is lost."""
    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / "ws"
    shutil.copytree(base, workspace)
    before = row_counts(workspace)
    clips = [cut_clip(folder / f"writer{n}.avi", start, 12, source=DEMO_VIDEO) for n, start in enumerate((300, 600))]
    processes = [
        subprocess.Popen(
            _cli(["ingest", workspace, clip, *FAST_INGEST]),
            env=_cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for clip in clips
    ]
    errors = [p.communicate(timeout=600)[1].decode(errors="replace") for p in processes]
    case = Case("two writers", "two ingest processes on one workspace", lambda i: [], 0)
    outcome = Outcome(case, max(p.returncode for p in processes), [], "".join(e for e in errors if "Traceback" in e))
    after = row_counts(workspace)
    outcome.rows_lost = sum(max(n - after.get(t, 0), 0) for t, n in before.items())
    if outcome.code != 0 or outcome.traceback:
        outcome.problems.append(f"a writer failed: {[e[-400:] for e in errors]}")
    if after["videos"] != before["videos"] + 2:
        outcome.problems.append(f"expected both videos stored: {before} -> {after}")
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost")
    return outcome


def interrupted_ingest_outcome(base: Path, folder: Path) -> Outcome:
    """Ctrl-C (SIGINT) in the middle of ``reid ingest``: exit 130, one line, no traceback, nothing
    stored before is lost (that a rerun then completes is the kill -9 cases' and test_ingest's job)."""
    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / "ws"
    shutil.copytree(base, workspace)
    before = row_counts(workspace)
    # Long enough that the ingest is still running when the signal lands, even on a loaded machine
    # where this process reads the progress bar slowly (the detector does ~10 frames/s here).
    clip = cut_clip(folder / "long.avi", 200, 300, source=DEMO_VIDEO)
    command = _cli(["ingest", workspace, clip, *FAST_INGEST])
    process = subprocess.Popen(
        command,
        env=_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    assert process.stderr is not None
    seen = ""
    while "frame" not in seen and process.poll() is None:  # the progress bar: tracking has begun
        seen += os.read(process.stderr.fileno(), 4096).decode(errors="replace")
    assert process.poll() is None, "the ingest finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stderr = seen + process.communicate(timeout=300)[1]
    lines = [line.rsplit("\r", 1)[-1] for line in stderr.splitlines() if "error:" in line]
    case = Case("Ctrl-C", "ingest interrupted by SIGINT", lambda i: [], 130, "interrupted")
    outcome = Outcome(case, process.returncode, lines, stderr if "Traceback" in stderr else "")
    after = row_counts(workspace)
    outcome.rows_lost = sum(max(n - after.get(t, 0), 0) for t, n in before.items())
    if process.returncode != 130 or len(lines) != 1 or "interrupted" not in lines[0]:
        outcome.problems.append(f"expected exit 130 and one 'interrupted' line: {process.returncode} {stderr[-500:]}")
    if outcome.traceback:
        outcome.problems.append("traceback:\n" + stderr[-1500:])
    if outcome.rows_lost:
        outcome.problems.append(f"{outcome.rows_lost} rows lost")
    return outcome
