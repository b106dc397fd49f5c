"""Ingest and embed on a Ray cluster (``reid ingest|embed WS ... --cluster ADDRESS``).

One Ray task per video (ingest) and per batch of tracklets (embed); each task opens the shared
workspace itself (a ``postgresql://`` URL; a folder only with a local Ray, ``--cluster auto``) and
writes through the same code as a local run, so the rows are the same. A task asks for a GPU when
the cluster has any. The per-video claim (``claim_video``: an advisory lock on PostgreSQL) keeps
two writers off one video; a worker that dies mid-video drops its lock with its connection, Ray
runs the task again (``MAX_RETRIES``) and it resumes the video from its last checkpoint, as a
re-run of the command would. Ray is imported here only: the other commands never pay for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.pipeline.embed import TRACKLETS_PER_COMMIT, EmbedSummary, embed_group, open_embedder, register_checkpoint
from app.pipeline.ingest import ProgressFn, VideoOutcome
from app.pipeline.ingest_processes import ingest_one_video
from detector.person_tracker import DetectorParams
from detector.tracklets import TrackletParams
from reid_core.checkpoint import file_digest
from reid_core.errors import ResourceError, UserError
from reid_core.store.location import workspace_location
from reid_core.store.vector_index import sync_index
from reid_core.workspace import Workspace, open_workspace
from resources import DEFAULT_REID_CHECKPOINT

LOCAL = "auto"  # a Ray started for the command on this machine, on loopback only, as many worker slots as cores
DEAD_END = "http://127.0.0.1:9"  # a closed local port
# For the processes a local Ray starts (they inherit the environment): usage statistics off
# (``reid_core/airgap.py``), and every HTTP request they make (Ray's head probes cloud metadata
# servers, 169.254.169.254 and metadata.google.internal, even with statistics off) sent to a
# closed local port instead, with no DNS lookup. Ray's own gRPC ignores these proxies.
RAY_OFFLINE_ENVIRONMENT = {
    "RAY_USAGE_STATS_REPORT_URL": DEAD_END + "/",
    **{name: DEAD_END for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    "NO_PROXY": "",
    "no_proxy": "",
}
MAX_RETRIES = 2  # a task whose worker died is run again this many times
TRACKLETS_PER_TASK = 64
PROGRESS_POLL_S = 0.5  # how often the command reads the workers' progress


@contextmanager
def ray_session(address: str) -> Iterator[Any]:
    """Ray connected to ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``), without dashboard,
    usage statistics (``reid_core/airgap.py``) or worker logs on this terminal; a Ray this process
    already started is reused and left running. A Ray started here (``auto``) talks on loopback only:
    ``strace -f`` of ``reid ingest WS V --cluster auto`` shows no other address."""
    if address == LOCAL:  # read when Ray is imported: this machine's address is loopback, not asked of a route
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise UserError(f"--cluster {address}: needs Ray (pip install '.[cluster]')") from exc
    if ray.is_initialized():
        yield ray
        return
    try:
        with patched_environment(RAY_OFFLINE_ENVIRONMENT):
            ray.init(
                address="local" if address == LOCAL else address,  # "local": always a new one
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
    except (ConnectionError, RuntimeError, ValueError, ImportError) as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResourceError(f"--cluster {address}: cannot reach the Ray cluster ({problem})") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


@contextmanager
def patched_environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` inside (what processes started there inherit), as it was after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _shared_location(workspace: Workspace, address: str) -> str:
    """What a worker opens: the database URL, or (local Ray only) the workspace folder."""
    url = getattr(workspace, "url", None)
    if url is not None:
        return str(url)
    if address != LOCAL:
        raise UserError(
            f"{workspace.folder}: a workspace folder cannot be shared with the Ray cluster at {address}; "
            "use a postgresql:// workspace (or --cluster auto on this machine)"
        )
    return str(workspace.folder.resolve())


def _task_options(ray: Any) -> dict:
    return {"num_cpus": 1, "num_gpus": 1 if ray.cluster_resources().get("GPU", 0) else 0, "max_retries": MAX_RETRIES}


def _results(
    ray: Any,
    pending: dict,
    on_result: Callable[[Any, Any], None],
    progress_queue: Any = None,
    on_progress: Callable[..., None] | None = None,
) -> None:
    """Call ``on_result(key, value)`` as each task finishes, and ``on_progress(*item)`` for what the
    tasks put on ``progress_queue`` meanwhile. A task's own error is raised as it was raised there;
    Ctrl-C cancels every task still running (their videos resume next time)."""
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=PROGRESS_POLL_S)
            _drain(progress_queue, on_progress)  # a task puts its items before it returns: none is missed
            if not ready:
                continue
            key = pending.pop(ready[0])
            try:
                value = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                raise exc.cause from None
            except ray.exceptions.RayError as exc:  # the worker died MAX_RETRIES + 1 times, or its node left
                raise ResourceError(f"{key}: the Ray task failed ({str(exc).strip().splitlines()[0]})") from None
            on_result(key, value)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _drain(progress_queue: Any, on_progress: Callable[..., None] | None) -> None:
    if progress_queue is None or on_progress is None:
        return
    while not progress_queue.empty():
        for item in progress_queue.get_nowait_batch(progress_queue.qsize()):
            on_progress(*item)


def _ingest_task(
    location: str,
    video: str,
    camera: str | None,
    detector: DetectorParams,
    params: TrackletParams,
    start_time: float | None,
    progress_queue: Any = None,
) -> VideoOutcome:
    """On a worker: one video into the shared workspace, its frames done put on ``progress_queue``."""

    def report(path: Path, done: int, total: int) -> None:
        progress_queue.put_nowait((video, done, total))

    return ingest_one_video(
        workspace_location(location), Path(video), camera, detector, params, start_time,
        progress=report if progress_queue is not None else None,
    )


def ingest_on_cluster(
    workspace: Workspace,
    videos: list[Path],
    camera: str | None = None,
    detector: DetectorParams = DetectorParams(),
    tracklet_params: TrackletParams = TrackletParams(),
    start_times: dict[Path, float] | None = None,
    progress: ProgressFn | None = None,
    *,
    address: str = LOCAL,
) -> list[VideoOutcome]:
    """``ingest_videos`` with one Ray task per video; the videos must be at the same path on every
    worker. Outcomes in the videos' order; ``progress`` is told each video's frames as the workers
    go (through a Ray queue, read every ``PROGRESS_POLL_S``) and the end of each video."""
    location = _shared_location(workspace, address)
    detector = replace(detector, threads=detector.threads or 1)  # one core per task: Ray runs as many as it has
    outcomes: dict[Path, VideoOutcome] = {}
    by_sent_path = {str(v.resolve()): v for v in videos}

    def finished(video: Path, outcome: VideoOutcome) -> None:
        outcomes[video] = outcome
        if progress is not None:
            frames = max(outcome.frames_processed + outcome.frames_skipped, 1)
            progress(video, frames, frames)

    def advanced(sent_path: str, done: int, total: int) -> None:
        if progress is not None and by_sent_path[sent_path] not in outcomes:
            progress(by_sent_path[sent_path], done, total)

    with ray_session(address) as ray:
        from ray.util.queue import Queue

        queue = Queue() if progress is not None else None
        task = ray.remote(_ingest_task).options(**_task_options(ray))
        start = start_times or {}
        pending = {
            task.remote(location, str(v.resolve()), camera, detector, tracklet_params, start.get(v), queue): v
            for v in videos
        }
        _results(ray, pending, finished, queue, advanced)
    return [replace(outcomes[v], path=v) for v in videos]


def _embed_task(location: str, checkpoint: str, device: str, tracklet_ids: list[int]) -> tuple[int, str]:
    """On a worker: embed those of the tracklets still without this model's vector; (embedded, device)."""
    from reid_core.devices import resolve_device

    device = resolve_device(device)
    with open_workspace(workspace_location(location), create=False) as workspace:
        opened = open_embedder(Path(checkpoint), device, workspace.folder / "onnx")
        todo = set(workspace.unembedded_tracklets(opened.model_id))  # a retried task skips what it committed
        ids = [t for t in tracklet_ids if t in todo]
        for start in range(0, len(ids), TRACKLETS_PER_COMMIT):
            embed_group(workspace, opened, ids[start : start + TRACKLETS_PER_COMMIT])
    return len(ids), device


def embed_on_cluster(
    workspace: Workspace,
    checkpoint: str | Path = DEFAULT_REID_CHECKPOINT,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    *,
    address: str = LOCAL,
) -> EmbedSummary:
    """``embed_workspace`` with one Ray task per ``TRACKLETS_PER_TASK`` tracklets; the checkpoint must
    be at the same path on every worker. This machine's vector index is brought up to date at the end."""
    location = _shared_location(workspace, address)
    checkpoint = Path(checkpoint).resolve()
    model_id = file_digest(checkpoint)
    todo = workspace.unembedded_tracklets(model_id)
    already = workspace.tracklet_count() - len(todo)
    if todo:
        register_checkpoint(workspace, checkpoint)
    done, devices = 0, set()

    def finished(_: str, result: tuple[int, str]) -> None:
        nonlocal done
        done += result[0]
        devices.add(result[1])
        if progress is not None:
            progress(done, len(todo))

    with ray_session(address) as ray:
        task = ray.remote(_embed_task).options(**_task_options(ray))
        batches = [todo[i : i + TRACKLETS_PER_TASK] for i in range(0, len(todo), TRACKLETS_PER_TASK)]
        pending = {
            task.remote(location, str(checkpoint), device, batch): f"tracklets {batch[0]}-{batch[-1]}"
            for batch in batches
        }
        _results(ray, pending, finished)
    if todo:
        sync_index(workspace, model_id)
    return EmbedSummary(model_id, ", ".join(sorted(devices)) or device, done, already)
