"""The demo: two camera views cut from the shipped footage, ingested, embedded and searched."""

from __future__ import annotations

from pathlib import Path

from detector.video import cut_clip
from resources import DEMO_VIDEO

# (camera name, first frame, frame count) of resources/vtest.avi, 10 fps: two time windows
# of one plaza camera stand in for two cameras; people cross the plaza in both.
DEMO_VIEWS = (("plaza-morning", 0, 300), ("plaza-noon", 400, 300))
DEMO_FPS = 10.0


def demo_footage(folder: Path) -> dict[str, Path]:
    """Write the demo's camera clips into ``folder`` (once) and return them by camera name."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = {}
    for camera, start, count in DEMO_VIEWS:
        path = folder / f"{camera}.avi"
        if not path.exists():
            tmp = path.with_name(path.stem + ".partial.avi")
            cut_clip(tmp, start, count, source=DEMO_VIDEO)
            tmp.replace(path)
        clips[camera] = path
    return clips
