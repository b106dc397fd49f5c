"""What the window shows of the stored footage (app.pipeline.display), on a real SQLite workspace built
through the store API: a real clip on disk, a video whose file has moved, tracklets with boxes,
JPEG crops and gate maps. No detector, no Qt: these run in well under a second."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.display import (
    STRIP_CROPS,
    camera_names,
    footage_counts,
    identity_name_of,
    identity_of,
    new_camera_feeds,
    query_card,
    tracklet_list_page,
    tracklet_place,
    tracklet_strip,
)
from app.pipeline.identities import confirm_match
from app.pipeline.people_rows import people_rows, person_members, person_picture
from detector.video import cut_clip
from reid_core.workspace import Workspace, WorkspaceError
from resources import DEMO_VIDEO

MODEL = "m1"
CROPS = 12  # more than a strip shows: it picks STRIP_CROPS of them, evenly spaced


def _jpeg(value: int) -> bytes:
    image = np.full((32, 16, 3), value, dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


@pytest.fixture
def footage(tmp_path: Path) -> Path:
    """Camera "east": a real 5-frame clip, stride 2, with two tracklets (the first with 12 crops and gate
    maps on its even frames); camera "west": a video whose file is gone, with one tracklet."""
    clip = cut_clip(tmp_path / "east.avi", 0, 5, DEMO_VIDEO)
    with Workspace(tmp_path / "ws") as ws, ws.transaction():
        ws.register_model(MODEL, "test", "nowhere.pt", "omz_reid_0287", 4, {})
        videos = {}
        for name, path, stride in (("east", clip, 2), ("west", tmp_path / "moved.avi", 1)):
            camera = ws.camera_id(name)
            params = json.dumps({"tracklets": {"frame_stride": stride}})
            video = {"camera_id": camera, "path": str(path), "content_hash": name, "fps": 10.0, "frame_count": 5}
            video |= {"width": 768, "height": 576, "start_time": 0.0, "frames_processed": 5, "params": params}
            videos[name] = (ws.add_video(video | {"added_at": 0.0}), camera)
        for name, start, crops in (("east", 0, CROPS), ("east", 2, 2), ("west", 1, 1)):
            video_id, camera_id = videos[name]
            row = {"video_id": video_id, "camera_id": camera_id, "track_id": start + 1, "length": crops}
            row |= {"start_frame": start, "end_frame": start + crops - 1, "start_time": start / 10, "end_time": 1.0}
            boxes = [(start + k, (10.0 + k, 20.0, 50.0 + k, 120.0), 0.9) for k in range(min(crops, 3))]
            tracklet_id = ws.add_tracklet(row, boxes, [(start + k, _jpeg(10 * k)) for k in range(crops)])
            gate_frames = list(range(start, start + crops, 2))  # every other crop has a gate map
            maps = np.linspace(0.2, 0.6, len(gate_frames) * 8 * 4).reshape(len(gate_frames), 8, 4)
            ws.save_embedding(tracklet_id, MODEL, np.ones(4, dtype=np.float32) / 2, gate_frames, maps)
    return tmp_path / "ws"


def test_feeds_are_the_unshown_videos_on_disk_with_their_boxes_camera_and_stride(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        [feed] = new_camera_feeds(ws, shown=set())
        assert (feed.video_id, feed.camera) == (1, "east")  # "west" is stored, its file is not there
        assert feed.video["name"] == "east.avi" and feed.video["stride"] == 2 and feed.video["frame_count"] == 5
        assert sorted(feed.boxes) == [0, 1, 2, 3]  # frames 0-2 of tracklet 1, 2-3 of tracklet 2
        assert feed.boxes[0] == [(1, 10.0, 20.0, 50.0, 120.0)]
        assert sorted(b[0] for b in feed.boxes[2]) == [1, 2]  # both east tracklets have a box on frame 2
        assert new_camera_feeds(ws, shown={1}) == []


def test_counts_and_ready_message_count_tracklets_and_videos(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        counts = footage_counts(ws)
    assert (counts.tracklets, counts.videos) == (3, 2)
    assert counts.ready_message().startswith("Ready: 3 tracklets in 2 videos. ")


def test_a_tracklet_is_shown_in_its_video_at_its_first_frame(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        place = tracklet_place(ws, 3)
        assert (place.tracklet_id, place.video_id, place.start_frame) == (3, 2, 1)
        with pytest.raises(WorkspaceError, match="no tracklet 99"):
            tracklet_place(ws, 99)


def test_a_strip_spreads_its_crops_and_stretches_the_gate_maps_it_has(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        strip = tracklet_strip(ws, 1, MODEL)
        other_model = tracklet_strip(ws, 1, "not-embedded")
    expected = np.linspace(0, CROPS - 1, STRIP_CROPS).round().astype(int).tolist()
    assert strip.frames == expected and strip.frames[0] == 0 and strip.frames[-1] == CROPS - 1
    assert len(strip.images) == STRIP_CROPS and strip.images[0].shape == (32, 16, 3)
    assert [h is not None for h in strip.heat] == [f % 2 == 0 for f in strip.frames]
    low, high = strip.gate_range
    assert low == pytest.approx(0.2, abs=1e-3) and high == pytest.approx(0.6, abs=1e-3)
    stretched = np.stack([h for h in strip.heat if h is not None])
    assert stretched.min() == 0.0 and 0.5 < stretched.max() < 1.0  # stretched over all 6 maps, frame 10 unshown
    assert strip.has_heatmaps and strip.tracklet.camera == "east"
    assert other_model.gate_range is None and not other_model.has_heatmaps and len(other_model.images) == STRIP_CROPS


def test_a_short_tracklet_shows_every_crop_once(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        assert tracklet_strip(ws, 2, MODEL).frames == [2, 3]


def test_identity_lookups_name_what_was_confirmed(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        assert identity_of(ws, 1) is None and identity_of(ws, None) is None and identity_name_of(ws, None) is None
        identity = confirm_match(ws, 1, 3)
        assert identity_of(ws, 1) == identity == identity_of(ws, 3)
        assert identity_name_of(ws, identity) == ws.identity_names()[0][1]


def test_the_matches_panel_reads_camera_names_and_the_query_card(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        assert camera_names(ws) == ["east", "west"]
        card = query_card(ws, 1)
        assert card.tracklet.id == 1 and card.tracklet.camera == "east"
        middle = cv2.imdecode(np.frombuffer(card.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert middle.shape == (32, 16, 3) and abs(int(middle.mean()) - 10 * (CROPS // 2)) <= 3  # the middle crop


def test_the_tracklet_list_pages_by_id(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        assert [t.id for t in tracklet_list_page(ws, 0, 2)] == [1, 2]
        assert [t.id for t in tracklet_list_page(ws, 2, 2)] == [3]
        assert tracklet_list_page(ws, 3, 2) == []


def test_the_people_panel_reads_people_their_picture_and_members_most_doubtful_first(footage: Path) -> None:
    with Workspace(footage, create=False) as ws:
        ws.replace_proposals([[(1, 0.9), (3, 0.6)], [(2, 1.0)]], [0.7, 1.0], MODEL)
        people = people_rows(ws)
        assert [(p.tracklets, p.cameras) for p in people] == [(2, ("east", "west")), (1, ("east",))]
        first = people[0].id
        assert person_picture(ws, first) == ws.thumbnail(1)  # its most confident member
        members = person_members(ws, first)
        assert [(m.tracklet.id, m.confidence) for m in members] == [(3, 0.6), (1, 0.9)]
        assert members[0].cells() == ("3", "west", "0.1–1.0", "0.60") and members[0].thumbnail == ws.thumbnail(3)
        assert person_picture(ws, 99) is None and person_members(ws, 99) == []


GUI = Path(__file__).resolve().parents[2] / "app" / "gui"
STORE_CALLS_ALLOWED = {"close"}  # the window closes the workspace it opened; everything it shows is read above


def _store_calls(source: str) -> list[str]:
    """``workspace.<method>(…)`` and ``….workspace.<method>(…)`` calls, and ``.execute(`` (SQL), in a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        named = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
        if (named == "workspace" and node.func.attr not in STORE_CALLS_ALLOWED) or node.func.attr == "execute":
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    return found


def test_the_widgets_read_nothing_from_the_store_themselves() -> None:
    assert _store_calls("x = self.workspace.videos()\nworkspace.tracklet(3)\ndb.execute('SELECT 1')") == [
        "line 1: self.workspace.videos", "line 2: workspace.tracklet", "line 3: db.execute"
    ]
    # screenshots.py drives the window for the README's pictures (a tool, not a widget)
    modules = [p for p in sorted(GUI.glob("*.py")) if p.name != "screenshots.py"]
    assert len(modules) > 20
    calls = {p.name: _store_calls(p.read_text()) for p in modules}
    assert {name: found for name, found in calls.items() if found} == {}
