"""Several videos at once: one ingest process per video, the cores shared out between them.

The detector's kernels use a core well but one video keeps only one busy between its serial
steps (tracking, crops, SQLite); processes (not threads: the GIL) run those steps side by side.
Each process runs ``ingest_videos`` on its own connection to the workspace (a folder or a
PostgreSQL URL; the store is safe for several writers) with the detector on ``cores // jobs``
threads, and reports progress and its outcome on a queue. Ctrl-C in the parent stops every
child; a stopped video resumes from its last checkpoint next time (see ``app/pipeline/ingest.py``).
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
from dataclasses import replace
from pathlib import Path

from app.pipeline.ingest import ProgressFn, VideoOutcome, ingest_videos
from detector.person_tracker import DetectorParams
from detector.runtime import available_cores
from detector.tracklets import TrackletParams

POLL_SECONDS = 0.5


def default_jobs(videos: int) -> int:
    """One process per video, at most one per core."""
    return max(1, min(videos, available_cores()))


def _worker(index: int, events, *task: object) -> None:
    """A child process: ``ingest_one_video(*task)``, its progress and outcome sent on ``events``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it terminates us on Ctrl-C
    try:
        outcome = ingest_one_video(
            *task,  # the arguments of ingest_one_video, in its order
            progress=lambda path, done, total: events.put(("progress", index, (str(path), done, total))),
        )
        events.put(("done", index, outcome))
    except BaseException as exc:  # the parent raises it, as a sequential ingest would have
        events.put(("error", index, exc))


def ingest_one_video(
    location: str | Path,
    video: Path,
    camera: str | None,
    detector: DetectorParams,
    params: TrackletParams,
    start_time: float | None,
    progress: ProgressFn | None = None,
) -> VideoOutcome:
    """In a worker (a process here, or a Ray task): one video into the workspace at ``location``
    (folder or database URL), on a connection of its own, the detector on ``detector.threads``."""
    import torch

    from reid_core.workspace import open_workspace

    torch.set_num_threads(detector.threads or 1)
    with open_workspace(location) as workspace:
        [outcome] = ingest_videos(
            workspace,
            [video],
            camera=camera,
            detector=detector,
            tracklet_params=params,
            start_times={video: start_time} if start_time is not None else None,
            progress=progress,
        )
    return outcome


def ingest_in_processes(
    location: str | Path,
    videos: list[Path],
    jobs: int,
    camera: str | None = None,
    detector: DetectorParams = DetectorParams(),
    tracklet_params: TrackletParams = TrackletParams(),
    start_times: dict[Path, float] | None = None,
    progress: ProgressFn | None = None,
) -> list[VideoOutcome]:
    """``ingest_videos`` for a workspace (folder or PostgreSQL URL), up to ``jobs`` videos at a time.

    Outcomes come back in the videos' order."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds threads and a database
    events = context.Queue()
    if detector.threads is None:
        detector = replace(detector, threads=max(1, available_cores() // jobs))
    waiting = list(enumerate(videos))
    running: dict[int, multiprocessing.process.BaseProcess] = {}
    outcomes: list[VideoOutcome | None] = [None] * len(videos)
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                index, video = waiting.pop(0)
                start = (start_times or {}).get(video)
                args = (index, events, location, video, camera, detector, tracklet_params, start)
                running[index] = context.Process(target=_worker, args=args, daemon=True)
                running[index].start()
            try:
                kind, index, payload = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [i for i, process in running.items() if process.exitcode is not None]
                if dead:
                    code = running[dead[0]].exitcode
                    raise RuntimeError(f"{videos[dead[0]]}: ingest process ended with code {code}") from None
                continue
            if kind == "progress":
                if progress is not None:
                    path, done, total = payload
                    progress(Path(path), done, total)
                continue
            running.pop(index).join()
            if kind == "error":
                raise payload
            outcomes[index] = payload
    finally:
        for process in running.values():
            process.terminate()
            process.join()
    return outcomes
