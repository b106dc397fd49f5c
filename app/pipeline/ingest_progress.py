"""Where an unfinished ingest of a video stands, kept in the workspace so a killed run can resume.

Stored as JSON (data, never pickle) in the workspace's ``meta`` table under
``ingest_progress:<video id>``, in the same transaction as the tracklets it accounts for:

- ``next_frame``: the first frame not yet run through the tracker;
- ``track_offset``: added to the tracker's ids after a resume, so ids stay unique in the video;
- ``open``: the tracklets still open at ``next_frame``, as they would be stored if the video
  ended there (boxes, scores and their evenly sampled crops). A resumed run stores them as they
  are, so a person on screen at the resume point has their tracklet split there, and nothing
  before the resume point is lost or processed twice;
- ``times``: the container timestamps (seconds) of the open tracklets' first and last frames,
  so their stored times are the real ones on a variable frame rate.

An empty value means the video is finished.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from detector.tracklets import Tracklet
from reid_core.workspace import Workspace

KEY = "ingest_progress:{}"


@dataclass
class IngestProgress:
    next_frame: int = 0
    track_offset: int = 0
    open: list[Tracklet] = field(default_factory=list)
    times: dict[int, float] = field(default_factory=dict)  # frame → seconds, of the open tracklets' ends


def save_progress(workspace: Workspace, video_id: int, progress: IngestProgress) -> None:
    data = {
        "next_frame": progress.next_frame,
        "track_offset": progress.track_offset,
        "open": [
            {
                "track_id": t.track_id,
                "frames": t.frames,
                "boxes": [list(b) for b in t.boxes],
                "scores": t.scores,
                "crops": {str(f): base64.b64encode(jpeg).decode("ascii") for f, jpeg in t.crops.items()},
            }
            for t in progress.open
        ],
        "times": {str(frame): seconds for frame, seconds in progress.times.items()},
    }
    workspace.set_meta(KEY.format(video_id), json.dumps(data))


def load_progress(workspace: Workspace, video_id: int) -> IngestProgress | None:
    """The saved progress of an unfinished video; None when the video is finished."""
    text = workspace.get_meta(KEY.format(video_id), "")
    if not text:
        return None
    data = json.loads(text)
    open_tracklets = [
        Tracklet(
            int(t["track_id"]),
            [int(f) for f in t["frames"]],
            [tuple(float(v) for v in b) for b in t["boxes"]],
            [float(s) for s in t["scores"]],
            {int(f): base64.b64decode(jpeg) for f, jpeg in t["crops"].items()},
        )
        for t in data["open"]
    ]
    times = {int(frame): float(seconds) for frame, seconds in data.get("times", {}).items()}
    return IngestProgress(int(data["next_frame"]), int(data["track_offset"]), open_tracklets, times)


def mark_finished(workspace: Workspace, video_id: int) -> None:
    workspace.set_meta(KEY.format(video_id), "")
