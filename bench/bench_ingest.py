"""Ingestion throughput vs the detector's own predict-only throughput, same frames, same run.

Prints frames/s for (1) YOLO predict alone and (2) the full ingest (decode + detect + track +
tracklet building + crops + SQLite), and the overhead ratio. Run:
python bench/bench_ingest.py [--frames 300] [--video resources/vtest.avi]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from app.pipeline.ingest import ingest_videos
from detector.person_tracker import PersonTracker
from detector.video import cut_clip, iter_frames, probe_video
from reid_core.workspace import Workspace
from resources import DEMO_VIDEO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", type=Path, default=DEMO_VIDEO)
    parser.add_argument("--frames", type=int, default=300, help="frames from the start of the video (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video if args.frames == 0 else cut_clip(Path(tmp) / "clip.avi", 0, args.frames, source=args.video)
        info = probe_video(video)
        tracker = PersonTracker()
        frames = [frame for _, frame in iter_frames(info)]
        tracker.detect(frames[0])  # warm-up
        start = time.perf_counter()
        for frame in frames:
            tracker.detect(frame)
        predict_fps = len(frames) / (time.perf_counter() - start)
        del frames
        with Workspace(Path(tmp) / "ws") as ws:
            start = time.perf_counter()
            [outcome] = ingest_videos(ws, [video], camera="bench", tracker=tracker)
            ingest_fps = outcome.frames_processed / (time.perf_counter() - start)
    print(
        f"video {args.video.name}: {info.frame_count} frames {info.width}x{info.height}, {outcome.tracklets} tracklets"
    )
    print(f"detector predict only : {predict_fps:6.2f} frames/s")
    print(f"full ingest           : {ingest_fps:6.2f} frames/s")
    print(f"overhead (predict fps / ingest fps - 1): {100 * (predict_fps / ingest_fps - 1):.1f}%")


if __name__ == "__main__":
    main()
