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
        outcomes = ingest_videos(
            workspace, args.videos, camera=args.camera, detector=detector, tracklet_params=params, progress=progress
        )
        for bar in bars.values():
            bar.close()
        per_camera = Counter({t.camera: 0 for t in workspace.tracklets()})
        per_camera.update(t.camera for t in workspace.tracklets())
    print("\nvideo                           status    camera        tracklets  frames  skipped")
    for o in outcomes:
        print(
            f"{o.path.name[:30]:<32}{o.status:<10}{o.camera[:12]:<14}{o.tracklets:>9}{o.frames_processed:>8}"
            f"{o.frames_skipped:>9}"
        )
    print("tracklets per camera in the workspace: " + ", ".join(f"{c}={n}" for c, n in sorted(per_camera.items())))
    errors = [o for o in outcomes if o.status == "failed"]
    for o in errors:
        print(f"error: {o.error}", file=sys.stderr)
    return 1 if errors else 0


def _embed(args: argparse.Namespace) -> int:
    from app.pipeline.embed import embed_workspace
    from reid_core.workspace import Workspace

    bar = tqdm(desc="embedding", unit="tracklet", dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    with Workspace(args.workspace, create=False) as workspace:
        summary = embed_workspace(workspace, args.model, args.device, progress=progress)
    bar.close()
    print(
        f"model {summary.model_id} on {summary.device}: embedded {summary.embedded} tracklets "
        f"({summary.already_done} were already done)"
    )
    return 0


def _query(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from app.pipeline.query import QueryOptions, query_workspace
    from reid_core.workspace import Workspace

    window = (args.after, args.before) if args.after is not None or args.before is not None else None
    if window is not None:
        window = (
            window[0] if window[0] is not None else float("-inf"),
            window[1] if window[1] is not None else float("inf"),
        )
    options = QueryOptions(
        top_k=args.top,
        cameras=tuple(args.cameras) if args.cameras else None,
        exclude_own_camera=not args.include_own_camera,
        time_window=window,
        combine=args.combine,
        rerank=args.rerank,
    )
    with Workspace(args.workspace, create=False) as workspace:
        matches = query_workspace(workspace, args.tracklets, args.model_id, options)
    if args.json:
        print(json.dumps([asdict(m) for m in matches], indent=2))
        return 0
    header = f"{'rank':>4}  {'tracklet':>8}  {'camera':<14}{'similarity':>10}  {'start s':>8}  {'end s':>8}"
    print(header + ("  re-ranked dist" if args.rerank else ""))
    for m in matches:
        line = (
            f"{m.rank:>4}  {m.tracklet_id:>8}  {m.camera[:13]:<14}{m.similarity:>10.3f}  "
            f"{m.start_time:>8.1f}  {m.end_time:>8.1f}"
        )
        print(line + (f"  {m.distance:>14.3f}" if m.distance is not None else ""))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from app.pipeline.demo import demo_footage

    clips = demo_footage(args.workspace / "footage")
    print(f"demo workspace: {args.workspace.resolve()}")
    for camera, clip in clips.items():
        status = main(["ingest", str(args.workspace), str(clip), "--camera", camera])
        if status:
            return status
    main(["embed", str(args.workspace)])
    from reid_core.workspace import Workspace

    with Workspace(args.workspace, create=False) as workspace:
        queries = sorted(workspace.tracklets(), key=lambda t: -t.length)[: args.queries]
    for query in queries:
        print(
            f"\nquery: tracklet {query.id} of camera {query.camera} "
            f"({query.start_time:.1f}-{query.end_time:.1f} s, {query.length} boxes)"
        )
        main(["query", str(args.workspace), str(query.id), "--top", "5"])
    print("\nnext: reid query WORKSPACE TRACKLET_ID [--rerank] for any tracklet id above")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from resources import DEFAULT_DETECTOR, DEFAULT_REID_CHECKPOINT

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

    embed = commands.add_parser("embed", help="embed the workspace's tracklets with a re-ID checkpoint")
    embed.add_argument("workspace", type=Path)
    embed.add_argument("--model", type=Path, default=DEFAULT_REID_CHECKPOINT, help="re-ID checkpoint (.pt)")
    embed.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "onnx"])
    embed.set_defaults(run=_embed)

    query = commands.add_parser("query", help="rank other cameras' tracklets against a tracklet")
    query.add_argument("workspace", type=Path)
    query.add_argument("tracklets", nargs="+", type=int, help="one or more tracklet ids of the same person")
    query.add_argument("--top", type=int, default=20)
    query.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (k1=20, k2=6, λ=0.3)")
    query.add_argument(
        "--combine", default="average", choices=["average", "best"], help="how several query tracklets are combined"
    )
    query.add_argument("--cameras", nargs="*", help="only these cameras")
    query.add_argument("--include-own-camera", action="store_true", help="also rank the query's own camera")
    query.add_argument("--after", type=float, help="only tracklets ending after this time (s)")
    query.add_argument("--before", type=float, help="only tracklets starting before this time (s)")
    query.add_argument("--model-id", help="which model's embeddings (default: the latest)")
    query.add_argument("--json", action="store_true", help="print JSON instead of a table")
    query.set_defaults(run=_query)
    demo = commands.add_parser("demo", help="run the whole flow on the shipped demo footage")
    demo.add_argument("workspace", type=Path, nargs="?", default=Path("demo_workspace"))
    demo.add_argument("--queries", type=int, default=3, help="how many example queries to show")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
