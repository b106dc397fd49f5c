"""`reid --help` and `reid query` start without torch or Qt (seconds saved on every call)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from app.cli import TRAINING_COMMANDS, build_parser
from reid_core.workspace import Workspace
from tests.conftest import REPO_ROOT

HEAVY = ("torch", "PySide6", "ultralytics", "onnxruntime")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[-2].split()


def test_help_and_query_import_neither_torch_nor_qt(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with Workspace(tmp_path / "ws") as ws:
        ws.register_model("m", "m", "", "synthetic", 8, {})
        video = {"camera_id": ws.camera_id("a"), "path": "a", "content_hash": "a"}
        video_id = ws.add_video(video)
        other = {"camera_id": ws.camera_id("b"), "path": "b", "content_hash": "b"}
        other_id = ws.add_video(other)
        rows = [
            {"id": t, "video_id": (video_id, other_id)[t % 2], "camera_id": (1, 2)[t % 2], "start_time": t}
            | {"end_time": t + 1.0, "track_id": t, "start_frame": 0, "end_frame": 1, "length": 2}
            for t in range(1, 21)
        ]
        ws.add_tracklets(rows)
        ws.save_embeddings("m", list(range(1, 21)), rng.standard_normal((20, 8), dtype=np.float32))
    help_code = "from app.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(help_code) == []
    query = f"from app.cli import main\nassert main(['query', {str(tmp_path / 'ws')!r}, '3', '--top', '5']) == 0"
    assert _loaded_after(query) == []


def test_training_commands_are_listed_and_parsed_by_their_own_parser() -> None:
    full = build_parser(["train", "--help"])
    listed = {a.dest: a.help for a in full._subparsers._group_actions[0]._choices_actions}
    assert {name: listed[name] for name in TRAINING_COMMANDS} == TRAINING_COMMANDS
    args = full.parse_args(["evaluate", "ilidsvid", "root", "--checkpoint", "a.pt"])
    assert args.run.__module__ == "training.cli" and args.checkpoint == [Path("a.pt")]
