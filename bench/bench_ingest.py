"""Ingest throughput per detector runtime, side by side on the same frames, with tracklet quality beside.

Part 1, one video (the first --frames frames of vtest.avi), frames/s of
  predict            plain ultralytics ``YOLO.predict`` on the decoded frames: the yardstick
  detect RUNTIME     our detector alone on that runtime (``detector/runtime.py``)
  ingest RUNTIME     ``ingest_videos`` end to end: decode (on a thread), detect, track, crops, SQLite
Part 2, several videos at once: ``ingest_in_processes`` (one process per video, each detector on
  cores/videos threads) vs one video alone (one process, every core), frames/s of all videos
  together (process start and detector loading included in both) and the ratio.
Part 3, quality on the labelled check set ``bench/labels/vtest_halves.json`` (vtest.avi cut into
  a left and a right camera, stride 2): each runtime ingests both halves. The labelled tracklets'
  boxes come from the ``ultralytics`` run (the settings the labels were made with). A labelled
  (camera, person) pair is found when one tracklet's box overlaps one of its labelled tracklets by
  IoU ≥ 0.5 on ≥ 60 % of that labelled tracklet's frames (tracklet boxes interpolated between their
  frames, so other frame strides compare). Printed: the share of pairs found, and tracklets per found
  pair (those covering ≥ 20 % of one of its labelled tracklets; fragmentation: lower is better).
Part 4, detection stride against tracklet quality: the default runtime ingests both labelled halves
  whole at each of --strides; printed per stride: the video's frames consumed per second (both halves,
  detector loading included), and part 3's quality figures against the same reference.
Run: python bench/bench_ingest.py [--frames 300] [--runtimes ultralytics,onnxruntime,openvino] [--parts 1,2,3,4]
     [--stride 2]  (part 1's ingest at a frame stride: also prints the video's frames consumed per second)
     [--strides 1,2,3]  (part 4)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from app.pipeline.check_footage import video_path
from app.pipeline.ingest import ingest_videos
from app.pipeline.ingest_processes import ingest_in_processes
from detector.person_tracker import DetectorParams, PersonTracker
from detector.runtime import available_cores
from detector.tracklets import TrackletParams
from detector.video import cut_clip, iter_frames, probe_video
from reid_core.workspace import Workspace
from resources import DEMO_VIDEO

LABELS = Path(__file__).resolve().parent / "labels" / "vtest_halves.json"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def frames_per_second(run, count: int) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def one_video(video: Path, runtimes: list[str], threads: int, stride: int = 1) -> None:
    info = probe_video(video)
    frames = [frame for _, frame in iter_frames(info)]
    print(f"part 1: {video.name}, {len(frames)} frames {info.width}x{info.height}, detector threads {threads}")
    print(f"{'':<24}{'frames/s':>9}{'x predict':>10}{'tracklets':>10}")
    yardstick = PersonTracker(DetectorParams(runtime="ultralytics"))
    predict = frames_per_second(lambda: [yardstick.detect(f) for f in frames], len(frames))
    print(f"{'predict (ultralytics)':<24}{predict:>9.2f}{1.0:>10.2f}")
    for runtime in runtimes:
        tracker = PersonTracker(DetectorParams(runtime=runtime, threads=threads))
        if runtime != "ultralytics":
            detect = frames_per_second(lambda t=tracker: [t.detect(f) for f in frames], len(frames))
            print(f"{'detect ' + runtime:<24}{detect:>9.2f}{detect / predict:>10.2f}")
        with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "ws") as ws:
            started = time.perf_counter()
            params = TrackletParams(frame_stride=stride)
            [outcome] = ingest_videos(ws, [video], camera="bench", tracker=tracker, tracklet_params=params)
            seconds = time.perf_counter() - started
            ingest = outcome.frames_processed / seconds
        print(f"{'ingest ' + runtime:<24}{ingest:>9.2f}{ingest / predict:>10.2f}{outcome.tracklets:>10}")
        if stride > 1:  # the video's own frames consumed per second: what "faster than real time" is about
            print(f"{'  video frames/s':<24}{len(frames) / seconds:>9.2f}   (stride {stride})")


def videos_at_once(videos: list[Path], runtime: str, folder: Path) -> float:
    """Frames/s of all videos together through ``ingest_in_processes`` (process start and detector load included)."""
    started = time.perf_counter()
    outcomes = ingest_in_processes(folder, videos, jobs=len(videos), detector=DetectorParams(runtime=runtime))
    return sum(o.frames_processed for o in outcomes) / (time.perf_counter() - started)


def several_videos(source: Path, frames: int, runtime: str, tmp: Path, count: int) -> None:
    """``count`` different stretches of ``frames`` frames of ``source`` (distinct videos to the workspace)."""
    copies = [cut_clip(tmp / f"video{i}.avi", i * frames, frames, source=source) for i in range(count)]
    alone = videos_at_once(copies[:1], runtime, tmp / "alone")
    together = videos_at_once(copies, runtime, tmp / "together")
    print(
        f"part 2 ({runtime}): one video alone {alone:.2f} frames/s; {count} videos at once, one process each: "
        f"{together:.2f} frames/s in all = {together / alone:.2f}x"
    )


def labelled_boxes(folder: Path, labels: dict) -> dict[tuple[str, int], list[dict[int, np.ndarray]]]:
    """(camera, person) → the boxes (frame → x1, y1, x2, y2) of each of their labelled tracklets in ``folder``."""
    wanted = {(e["camera"], e["start_frame"], e["end_frame"]): e["person"] for e in labels["tracklets"]}
    out: dict[tuple[str, int], list[dict[int, np.ndarray]]] = {}
    for camera, boxes, span in _tracklet_boxes(folder):
        if span in wanted:
            out.setdefault((camera, wanted[span]), []).append(boxes)
    return out


def _tracklet_boxes(folder: Path):
    with Workspace(folder, create=False) as ws:
        for row in ws.tracklets():
            boxes = {int(b["frame"]): np.array([b["x1"], b["y1"], b["x2"], b["y2"]]) for b in ws.boxes(row.id)}
            yield row.camera, boxes, (row.camera, row.start_frame, row.end_frame)


def _iou(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    inter = np.clip(np.minimum(x[:, 2], y[:, 2]) - np.maximum(x[:, 0], y[:, 0]), 0, None) * np.clip(
        np.minimum(x[:, 3], y[:, 3]) - np.maximum(x[:, 1], y[:, 1]), 0, None
    )
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / np.maximum(area(x) + area(y) - inter, 1e-9)


def label_cover(label: dict[int, np.ndarray], tracklet: dict[int, np.ndarray]) -> float:
    """Share of a labelled tracklet's frames that ``tracklet`` spans with a box overlapping the label's by
    IoU ≥ 0.5 (``tracklet``'s boxes interpolated between its frames, so tracklets taken at another frame
    stride compare, and one that runs on past the labelled stretch is not held against it)."""
    known = np.array(sorted(tracklet))
    frames = np.array(sorted(label))
    inside = (frames >= known[0]) & (frames <= known[-1])
    if not inside.any():
        return 0.0
    corners = np.stack([tracklet[f] for f in known])
    at = frames[inside]
    x = np.stack([label[f] for f in at])
    y = np.stack([np.interp(at, known, corners[:, i]) for i in range(4)], axis=1)
    return float((_iou(x, y) >= 0.5).sum() / len(frames))


def ingest_halves(runtime: str, work: Path, labels: dict, stride: int | None = None) -> Path:
    """Both labelled halves into one workspace, at the labels' own stride unless ``stride`` is given."""
    folder = work / (f"halves_{runtime}" if stride is None else f"halves_{runtime}_stride{stride}")
    with Workspace(folder) as ws:
        for video in labels["videos"]:
            params = TrackletParams(frame_stride=stride or video["stride"])
            ingest_videos(
                ws, [video_path(video, work, SHARED)], camera=video["camera"], tracklet_params=params,
                detector=DetectorParams(runtime=runtime),
            )  # fmt: skip
    return folder


def reference_tracklets(work: Path, labels: dict) -> dict[tuple[str, int], list[dict[int, np.ndarray]]]:
    """The labelled tracklets' boxes, from an ``ultralytics`` run with the settings the labels were made with."""
    folder = work / "halves_ultralytics"
    reference = labelled_boxes(folder if folder.exists() else ingest_halves("ultralytics", work, labels), labels)
    missing = len(labels["tracklets"]) - sum(len(v) for v in reference.values())
    if missing:
        print(f"  the ultralytics run misses {missing} labelled tracklets (labels made with other versions?)")
    return reference


def match_labelled(folder: Path, reference: dict, pairs: int) -> tuple[int, str, float]:
    """(tracklets, 'found/pairs', tracklets per found pair) of ``folder`` against the labelled tracklets.

    A (camera, person) pair is found when one tracklet covers ≥ 60 % of one of its labelled tracklets'
    frames; its tracklets are those covering ≥ 20 % of one of them (fragmentation: lower is better)."""
    tracklets = list(_tracklet_boxes(folder))
    found, pieces = 0, 0
    for (camera, _), labelled in reference.items():
        covers = [max(label_cover(label, boxes) for label in labelled) for cam, boxes, _ in tracklets if cam == camera]
        if max(covers, default=0.0) >= 0.6:
            found += 1
            pieces += sum(c >= 0.2 for c in covers)
    return len(tracklets), f"{found}/{pairs}", pieces / max(found, 1)


def quality(runtimes: list[str], work: Path) -> None:
    labels = json.loads(LABELS.read_text())
    pairs = len({(e["camera"], e["person"]) for e in labels["tracklets"]})
    print(f"part 3: {LABELS.name}: {len(labels['tracklets'])} labelled tracklets, {pairs} (camera, person) pairs")
    reference = reference_tracklets(work, labels)
    print(f"{'runtime':<14}{'tracklets':>10}{'pairs found':>13}{'tracklets/pair':>16}")
    for runtime in runtimes:
        folder = work / "halves_ultralytics" if runtime == "ultralytics" else ingest_halves(runtime, work, labels)
        total, found, per_pair = match_labelled(folder, reference, pairs)
        print(f"{runtime:<14}{total:>10}{found:>13}{per_pair:>16.2f}")


def stride_quality(strides: list[int], work: Path) -> None:
    labels = json.loads(LABELS.read_text())
    pairs = len({(e["camera"], e["person"]) for e in labels["tracklets"]})
    runtime = DetectorParams().runtime
    print(f"part 4: {LABELS.name} ingested whole at each stride ({runtime}); reference: the labels' stride-2 run")
    reference = reference_tracklets(work, labels)
    frames = sum(probe_video(video_path(v, work, SHARED)).frame_count for v in labels["videos"])
    print(f"{'stride':<8}{'video frames/s':>15}{'tracklets':>10}{'pairs found':>13}{'tracklets/pair':>16}")
    for stride in strides:
        shutil.rmtree(work / f"halves_{runtime}_stride{stride}", ignore_errors=True)  # timed from scratch
        started = time.perf_counter()
        folder = ingest_halves(runtime, work, labels, stride)
        seconds = time.perf_counter() - started
        total, found, per_pair = match_labelled(folder, reference, pairs)
        print(f"{stride:<8}{frames / seconds:>15.2f}{total:>10}{found:>13}{per_pair:>16.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", type=Path, default=DEMO_VIDEO)
    parser.add_argument("--frames", type=int, default=300, help="frames from the start of the video (0 = all)")
    parser.add_argument("--runtimes", default="ultralytics,onnxruntime,openvino")
    parser.add_argument("--videos", type=int, default=2, help="videos ingested at once in part 2 (0 skips it)")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run")
    parser.add_argument("--work", type=Path, help="keep part 3's workspaces here")
    parser.add_argument("--stride", type=int, default=1, help="part 1's ingest processes every n-th frame")
    parser.add_argument("--strides", default="1,2,3", help="part 4's strides")
    args = parser.parse_args()
    runtimes = args.runtimes.split(",")
    threads = available_cores()
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video if args.frames == 0 else cut_clip(Path(tmp) / "clip.avi", 0, args.frames, source=args.video)
        parts = set(args.parts.split(","))
        if "1" in parts:
            one_video(video, runtimes, threads, args.stride)
        if "2" in parts and args.videos > 1:
            several_videos(args.video, args.frames or 300, DetectorParams().runtime, Path(tmp), args.videos)
        if "3" in parts:
            quality(runtimes, args.work or Path(tmp))
        if "4" in parts:
            stride_quality([int(n) for n in args.strides.split(",")], args.work or Path(tmp))


if __name__ == "__main__":
    main()
