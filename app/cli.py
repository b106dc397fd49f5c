"""Command line: ``reid SUBCOMMAND ...`` (also ``python main.py SUBCOMMAND ...``)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from app.arguments import OneLineParser, count_int, finite_float, positive_int, seconds_value, similarity
from app.pipeline.events import EVENTS_FLAG
from reid_core.devices import DEVICE_CHOICES, EMBED_DEVICE_CHOICES
from reid_core.store.location import workspace_location

# Commands import what they need inside their functions: `reid --help` and `reid query` must not
# pay for torch, Qt or the detector (seconds) to print a table.
TRAINING_COMMANDS = {  # registered by training.cli (which imports torch) only when one of them runs
    "train": "train a re-ID model on a benchmark or local dataset",
    "evaluate": "CMC and mAP of checkpoints on a test split; table + plot",
    "distill": "distil a teacher re-ID network into RRU+STIM (the default's recipe)",
}

CLUSTER_HELP = "run on Ray: auto (this machine), HOST:PORT or ray://HOST:PORT; a folder workspace only with auto"


def _ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.pipeline.events import StepProgress, VideoOutcome, emit
    from app.pipeline.ingest import ingest_videos
    from app.pipeline.ingest_processes import default_jobs, ingest_in_processes
    from detector.person_tracker import DetectorParams
    from detector.tracklets import TrackletParams
    from reid_core.errors import EXIT_BAD_INPUT, EXIT_RESOURCE
    from reid_core.workspace import open_workspace

    detector = DetectorParams(weights=Path(args.detector), tracker=args.tracker, device=args.detector_device)
    params = TrackletParams(frame_stride=args.stride, min_length=args.min_length, max_crops=args.max_crops)
    bars: dict[Path, tqdm] = {}

    def progress(path: Path, done: int, total: int) -> None:
        if args.events:
            emit(StepProgress("ingest", done, total, video=str(path)))
            return
        bar = bars.get(path)
        if bar is None:
            bar = bars[path] = tqdm(total=total, desc=path.name, unit="frame", dynamic_ncols=True)
        bar.update(done - bar.n)

    start_times = {path: args.start_time for path in args.videos} if args.start_time is not None else None
    jobs = min(args.jobs or default_jobs(len(args.videos)), len(args.videos))
    run_ingest = ingest_videos
    if args.cluster:
        from app.pipeline.cluster import ingest_on_cluster

        run_ingest = partial(ingest_on_cluster, address=args.cluster)
    elif jobs > 1:  # one process per video, each on its own connection to the workspace

        def run_ingest(_opened: object, videos: list[Path], **options: Any) -> list:
            return ingest_in_processes(args.workspace, videos, jobs, **options)

    with open_workspace(args.workspace) as workspace:  # opened (and created) before any worker starts
        try:
            outcomes = run_ingest(
                workspace,
                args.videos,
                camera=args.camera,
                detector=detector,
                tracklet_params=params,
                start_times=start_times,
                progress=progress,
            )
        finally:  # an error line must start on a line of its own
            for bar in bars.values():
                bar.close()
        per_camera = Counter({t.camera: 0 for t in workspace.tracklets()})
        per_camera.update(t.camera for t in workspace.tracklets())
    if args.events:
        for o in outcomes:
            emit(VideoOutcome(str(o.path), o.status, o.camera, o.tracklets, o.error))
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
    if any(o.storage_failed for o in errors):
        return EXIT_RESOURCE  # the machine's problem (disk, permissions, a lock), not the video's
    return EXIT_BAD_INPUT if errors else 0


def _embed(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.pipeline.embed import embed_workspace
    from app.pipeline.events import StepProgress, emit
    from app.pipeline.model_files import checkpoint_to_embed
    from reid_core.workspace import open_workspace

    bar = tqdm(desc="embedding", unit="tracklet", dynamic_ncols=True, disable=args.events, delay=0.5)

    def progress(done: int, total: int) -> None:
        if args.events:
            emit(StepProgress("embed", done, total))
        bar.total = total
        bar.update(done - bar.n)

    run_embed = embed_workspace
    if args.cluster:
        from app.pipeline.cluster import embed_on_cluster

        run_embed = partial(embed_on_cluster, address=args.cluster)
    try:
        with open_workspace(args.workspace, create=False) as workspace:
            checkpoint = checkpoint_to_embed(workspace, args.model)  # a file, or a registered model's name
            summary = run_embed(workspace, checkpoint, args.device, progress=progress)
    finally:  # an error line must start on a line of its own
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
    from reid_core.workspace import open_workspace

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
    with open_workspace(args.workspace, create=False) as workspace:
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


def _people(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from app.pipeline.events import StepProgress, emit
    from app.pipeline.people import propose_people, set_views_overlap
    from app.pipeline.people_grouping import GroupingOptions
    from app.pipeline.routes import route_json
    from reid_core.workspace import WorkspaceError, open_workspace

    with open_workspace(args.workspace, create=False) as workspace:
        for pair, overlap in [(p, True) for p in args.views_overlap] + [(p, False) for p in args.views_apart]:
            set_views_overlap(workspace, pair[0], pair[1], overlap)
        if args.route is not None:
            if not workspace.proposal_exists(args.route):
                raise WorkspaceError(f"{workspace.path}: no proposed person {args.route} (run 'reid people' first)")
            print(json.dumps(route_json(workspace, args.route), indent=2))
            return 0
        if not args.list:
            given = {"threshold": args.threshold, "handover_s": args.handover}
            options = GroupingOptions(
                time_constraints=not args.no_time_constraints, **{k: v for k, v in given.items() if v is not None}
            )
            progress = (lambda done, total: emit(StepProgress("people", done, total))) if args.events else None
            run = propose_people(workspace, options, progress)
            if not args.json:
                print(
                    f"{run.people} proposed people from {run.tracklets} tracklets (model {run.model_id}) in "
                    f"{run.seconds:.1f} s"
                    + (f"; {run.left_out} tracklets not embedded are left out" if run.left_out else "")
                )
        people = workspace.proposal_summaries()
        if args.json:
            print(json.dumps([asdict(p) | route_json(workspace, p.id) for p in people], indent=2))
            return 0
        print(f"{'person':>6}  {'tracklets':>9}  {'confidence':>10}  {'first s':>8}  {'last s':>8}  identity  cameras")
        for p in sorted(people, key=lambda p: (-p.tracklets, p.id)):
            identity = str(p.identity_id) if p.identity_id is not None else "-"
            print(
                f"{p.id:>6}  {p.tracklets:>9}  {p.confidence:>10.2f}  {p.first_seen:>8.1f}  {p.last_seen:>8.1f}  "
                f"{identity:>8}  {', '.join(p.cameras)}"
            )
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from app.pipeline.events import ModelReady, emit
    from app.pipeline.retrain import retrain_workspace
    from training.cli import parse_overrides
    from training.config import load_config

    config = load_config(args.config, epochs=args.epochs, seed=args.seed, **parse_overrides(args.set))
    result = retrain_workspace(
        args.workspace,
        config,
        start_from=args.start_from,
        device=args.device,
        out=args.out,
        embed=args.embed,
        progress=emit if args.events else None,
        show_progress=not args.events,
    )
    last = result.history[-1] if result.history else {}
    print(
        f"trained on {result.identities} identities ({result.tracklets} tracklets), "
        f"final mean loss {last.get('total', float('nan')):.3f}"
    )
    print(f"model: {result.checkpoint}" + (f" (registered as {result.model_id})" if result.model_id else ""))
    if args.events:
        emit(ModelReady(checkpoint=str(result.checkpoint), model_id=result.model_id))
    return 0


def _adapt(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.pipeline.events import ModelReady, emit
    from app.pipeline.retrain import adapt_workspace
    from reid_core.errors import UserError
    from training.adapt import AdaptConfig
    from training.cli import parse_overrides

    overrides = parse_overrides(args.set) | {
        key: value
        for key, value in (("epochs", args.epochs), ("seed", args.seed), ("check", args.check))
        if value is not None
    }
    unknown = sorted(set(overrides) - set(AdaptConfig.__dataclass_fields__))
    if unknown:
        raise UserError(
            f"--set {unknown[0]}: not an adapt setting (known: {', '.join(AdaptConfig.__dataclass_fields__)})"
        )
    config = replace(AdaptConfig(), **overrides)
    result = adapt_workspace(
        args.workspace,
        config,
        start_from=args.start_from,
        device=args.device,
        out=args.out,
        embed=args.embed,
        teacher_xml=args.teacher,
        progress=emit if args.events else None,
    )
    outcome = result.outcome
    if not outcome.accepted:
        print(f"not activated: the adapted model was refused — {outcome.reason}; the current model stays in use")
        if args.events:
            emit(ModelReady(checkpoint=None, model_id=None, refused=outcome.reason))
        return 0
    print(f"accepted: {outcome.reason}")
    print(f"model: {result.checkpoint}" + (f" (registered as {result.model_id})" if result.model_id else ""))
    if args.events:
        emit(ModelReady(checkpoint=str(result.checkpoint), model_id=result.model_id))
    return 0


def _gui(args: argparse.Namespace) -> int:
    from app.gui.launch import run_gui

    return run_gui(args.workspace)


def _demo(args: argparse.Namespace) -> int:
    from app.pipeline.demo import demo_footage

    if not args.no_gui:
        from app.gui.launch import run_gui

        return run_gui(args.workspace, demo=True)

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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the training commands' own parsers only when one of them is asked for."""
    from detector.params import TRACKERS, DetectorParams, TrackletParams
    from resources import DEFAULT_DETECTOR, DEFAULT_REID_CHECKPOINT

    parser = OneLineParser(prog="reid", description="Video person re-identification across cameras")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="detect, track and store people of videos as tracklets")
    ingest.add_argument(
        "workspace", type=workspace_location, help="workspace folder (created if missing) or postgresql:// URL"
    )
    ingest.add_argument("videos", nargs="+", type=Path, help="video files")
    ingest.add_argument("--camera", help="camera name for these videos (default: each file's name)")
    ingest.add_argument("--detector", default=str(DEFAULT_DETECTOR), help="ultralytics weights (.pt/.onnx)")
    ingest.add_argument("--tracker", default=DetectorParams.tracker, choices=TRACKERS)
    ingest.add_argument(
        "--detector-device", default=DetectorParams.device, help="device for YOLO (auto, cpu, 0, cuda:0)"
    )
    ingest.add_argument(
        "--stride", type=positive_int, default=TrackletParams.frame_stride, help="process every n-th frame"
    )
    ingest.add_argument(
        "--min-length", type=positive_int, default=TrackletParams.min_length, help="drop tracklets with fewer boxes"
    )
    ingest.add_argument(
        "--max-crops", type=count_int, default=TrackletParams.max_crops, help="crops kept per tracklet (0 = all)"
    )
    ingest.add_argument(
        "--start-time", type=finite_float, help="wall-clock start of these videos (s), for time filters"
    )
    ingest.add_argument(
        "--jobs",
        type=positive_int,
        help="videos ingested at once, one process each (default: one per video, at most one per core)",
    )
    ingest.add_argument("--cluster", metavar="ADDRESS", help=CLUSTER_HELP + " (one task per video)")
    ingest.add_argument(EVENTS_FLAG, action="store_true", help=argparse.SUPPRESS)
    ingest.set_defaults(run=_ingest)

    embed = commands.add_parser("embed", help="embed the workspace's tracklets with a re-ID checkpoint")
    embed.add_argument("workspace", type=workspace_location, help="workspace folder or postgresql:// URL")
    embed.add_argument(
        "--model", type=Path, default=DEFAULT_REID_CHECKPOINT, help="checkpoint (.pt) or a registered model's name"
    )
    embed.add_argument("--device", default="auto", choices=EMBED_DEVICE_CHOICES)
    embed.add_argument("--cluster", metavar="ADDRESS", help=CLUSTER_HELP + " (one task per 64 tracklets)")
    embed.add_argument(EVENTS_FLAG, action="store_true", help=argparse.SUPPRESS)
    embed.set_defaults(run=_embed)

    query = commands.add_parser("query", help="rank other cameras' tracklets against a tracklet")
    query.add_argument("workspace", type=workspace_location, help="workspace folder or postgresql:// URL")
    query.add_argument("tracklets", nargs="+", type=positive_int, help="one or more tracklet ids of the same person")
    query.add_argument("--top", type=positive_int, default=20, help="how many matches (at least 1)")
    query.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (k1=20, k2=6, λ=0.3)")
    query.add_argument(
        "--combine", default="average", choices=["average", "best"], help="how several query tracklets are combined"
    )
    query.add_argument("--cameras", nargs="*", help="only these cameras")
    query.add_argument("--include-own-camera", action="store_true", help="also rank the query's own camera")
    query.add_argument("--after", type=finite_float, help="only tracklets ending after this time (s)")
    query.add_argument("--before", type=finite_float, help="only tracklets starting before this time (s)")
    query.add_argument("--model-id", help="which model's embeddings (default: the latest)")
    query.add_argument("--json", action="store_true", help="print JSON instead of a table")
    query.set_defaults(run=_query)
    people = commands.add_parser("people", help="group all tracklets of all cameras into proposed people")
    people.add_argument("workspace", type=workspace_location, help="workspace folder or postgresql:// URL")
    people.add_argument(
        "--threshold", type=similarity, help="lowest average cosine similarity inside a person (default 0.88)"
    )
    people.add_argument("--no-time-constraints", action="store_true", help="group by similarity and labels only")
    people.add_argument(
        "--handover", type=seconds_value, help="overlap (s) allowed between cameras whose views are apart (default 1)"
    )
    people.add_argument(
        "--views-overlap", nargs=2, action="append", default=[], metavar=("CAMERA", "CAMERA"),
        help="these two cameras see some of the same place (one person may be in both at once); kept",
    )  # fmt: skip
    people.add_argument(
        "--views-apart", nargs=2, action="append", default=[], metavar=("CAMERA", "CAMERA"),
        help="undo --views-overlap for a pair; kept",
    )  # fmt: skip
    people.add_argument("--list", action="store_true", help="show the stored proposals without grouping again")
    people.add_argument("--route", type=positive_int, metavar="PERSON", help="print one person's route as JSON")
    people.add_argument("--json", action="store_true", help="print the people and their routes as JSON")
    people.add_argument(EVENTS_FLAG, action="store_true", help=argparse.SUPPRESS)
    people.set_defaults(run=_people)
    for name, help_text in (
        ("finetune", "fine-tune a re-ID model on the identities confirmed in the workspace"),
        (
            "adapt",
            "adapt the model to the workspace's own tracks, unlabelled; kept only if it ranks the confirmed "
            "matches better, beyond chance",
        ),
    ):
        retrain = commands.add_parser(name, help=help_text)
        retrain.add_argument("workspace", type=workspace_location, help="workspace folder or postgresql:// URL")
        retrain.add_argument("--start-from", type=Path, help="checkpoint to start from (default: the active model)")
        if name == "finetune":
            retrain.add_argument("--config", default="finetune.yaml", help="YAML file or a training/configs name")
        else:
            retrain.add_argument("--teacher", type=Path, help="OMZ re-ID IR (.xml) to anchor to, not the start model")
            retrain.add_argument(
                "--check", choices=["confirmed", "self"],
                help="what judges the adapted model: the confirmed matches (default; needs 5 across cameras) or "
                "the label-free self-check (measured not to follow real mAP)",
            )  # fmt: skip
        retrain.add_argument("--epochs", type=positive_int)
        retrain.add_argument("--seed", type=count_int)
        retrain.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys")
        retrain.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
        retrain.add_argument("--out", type=Path, help="write the model here instead of registering it")
        retrain.add_argument("--embed", action="store_true", help="then embed the workspace and make it active")
        retrain.add_argument(EVENTS_FLAG, action="store_true", help=argparse.SUPPRESS)
        retrain.set_defaults(run=_retrain if name == "finetune" else _adapt)
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    if words and words[0] in TRAINING_COMMANDS:
        from training.cli import add_training_commands

        add_training_commands(commands)
    else:
        for name, summary in TRAINING_COMMANDS.items():
            commands.add_parser(name, help=summary)  # listed by --help; parsed for real when named

    gui = commands.add_parser("gui", help="open the desktop app")
    gui.add_argument("workspace", type=workspace_location, nargs="?", help="workspace folder or postgresql:// URL")
    gui.set_defaults(run=_gui)

    demo = commands.add_parser("demo", help="open the app on a demo workspace built from the shipped footage")
    demo.add_argument("workspace", type=Path, nargs="?", default=Path("demo_workspace"))
    demo.add_argument("--queries", type=count_int, default=3, help="with --no-gui: how many example queries to show")
    demo.add_argument("--no-gui", action="store_true", help="run the flow on the command line instead of the app")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command. Bad input and an unusable machine are one line, ``error: <file or value>:
    <problem>``, with the exit codes of ``reid_core.errors``; only bugs show a traceback."""
    from reid_core.errors import EXIT_INTERRUPTED, UserError, storage_error

    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as exc:
        error: UserError | None = exc
    except (sqlite3.Error, OSError) as exc:  # a full disk, a read-only or locked workspace
        error = storage_error(exc, getattr(args, "workspace", None) or "reid")
        if error is None:
            raise
    except KeyboardInterrupt:
        print("error: interrupted; what was already stored is kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"error: {error}", file=sys.stderr)
    return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
