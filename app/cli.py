"""Command line: ``reid SUBCOMMAND ...`` (also ``python main.py SUBCOMMAND ...``)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm


def _ingest(args: argparse.Namespace) -> int:
    from app.pipeline.ingest import ingest_videos
    from detector.person_tracker import DetectorParams
    from detector.tracklets import TrackletParams
    from reid_core.workspace import Workspace

    detector = DetectorParams(weights=Path(args.detector), tracker=args.tracker, device=args.detector_device)
    params = TrackletParams(frame_stride=args.stride, min_length=args.min_length, max_crops=args.max_crops)
    bars: dict[Path, tqdm] = {}

    def progress(path: Path, done: int, total: int) -> None:
        bar = bars.get(path)
        if bar is None:
            bar = bars[path] = tqdm(total=total, desc=path.name, unit="frame", dynamic_ncols=True)
        bar.update(done - bar.n)

    with Workspace(args.workspace) as workspace:
        outcomes = ingest_videos(workspace, args.videos, camera=args.camera, detector=detector,
                                 tracklet_params=params, progress=progress)
        for bar in bars.values():
            bar.close()
        per_camera = Counter({t.camera: 0 for t in workspace.tracklets()})
        per_camera.update(t.camera for t in workspace.tracklets())
    print("\nvideo                           status    camera        tracklets  frames  skipped")
    for o in outcomes:
        print(f"{o.path.name[:30]:<32}{o.status:<10}{o.camera[:12]:<14}{o.tracklets:>9}{o.frames_processed:>8}"
              f"{o.frames_skipped:>9}")
    print("tracklets per camera in the workspace: " + ", ".join(f"{c}={n}" for c, n in sorted(per_camera.items())))
    errors = [o for o in outcomes if o.status == "failed"]
    for o in errors:
        print(f"error: {o.error}", file=sys.stderr)
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    from resources import DEFAULT_DETECTOR

    parser = argparse.ArgumentParser(prog="reid", description="Video person re-identification across cameras")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="detect, track and store people of videos as tracklets")
    ingest.add_argument("workspace", type=Path, help="workspace folder (created if missing)")
    ingest.add_argument("videos", nargs="+", type=Path, help="video files")
    ingest.add_argument("--camera", help="camera name for these videos (default: each file's name)")
    ingest.add_argument("--detector", default=str(DEFAULT_DETECTOR), help="ultralytics weights (.pt/.onnx)")
    ingest.add_argument("--tracker", default="bytetrack", choices=["bytetrack", "botsort"])
    ingest.add_argument("--detector-device", default="cpu", help="device for YOLO (cpu, 0, cuda:0)")
    ingest.add_argument("--stride", type=int, default=1, help="process every n-th frame")
    ingest.add_argument("--min-length", type=int, default=8, help="drop tracklets with fewer boxes")
    ingest.add_argument("--max-crops", type=int, default=32, help="crops kept per tracklet (0 = all)")
    ingest.set_defaults(run=_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
