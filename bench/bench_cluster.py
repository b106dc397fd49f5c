"""Ingest throughput on a local Ray cluster vs one local process, into a PostgreSQL workspace.

``--videos`` distinct stretches of ``--frames`` frames of vtest.avi are ingested twice, each time
into a fresh database of a throwaway PostgreSQL server (``tests/postgres_server.py``; a SQLite
folder where the server binaries are missing):
  local   ``ingest_videos`` in this process, one video after the other, the detector on every core
  ray     ``ingest_on_cluster``: one task per video on a local Ray of ``--workers`` worker slots
          (one core each); Ray's start is timed apart, the detector's load per task is included
Printed: frames/s of each and the ratio ray / local, and that both stored the same tracklets.
Run: python bench/bench_cluster.py [--videos 4] [--frames 60] [--workers 2]
On real machines: --address HEAD:6379 (a running cluster), --databases URL URL (two empty
databases every worker reaches), --folder DIR (a path every worker sees, for the clips).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from app.pipeline.cluster import ingest_on_cluster
from app.pipeline.ingest import ingest_videos
from detector.runtime import available_cores
from detector.video import cut_clip
from reid_core.workspace import open_workspace
from resources import DEMO_VIDEO


def timed_ingest(location: str | Path, videos: list[Path], on_ray: bool) -> tuple[float, int]:
    """(frames/s, tracklets stored)."""
    with open_workspace(location) as workspace:
        started = time.perf_counter()
        outcomes = (ingest_on_cluster if on_ray else ingest_videos)(workspace, videos)
        seconds = time.perf_counter() - started
        assert all(o.status == "ingested" for o in outcomes), [o.error for o in outcomes]
        return sum(o.frames_processed for o in outcomes) / seconds, workspace.tracklet_count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="worker slots of the local Ray")
    parser.add_argument("--address", help="a running Ray cluster instead of a local one")
    parser.add_argument("--databases", nargs=2, metavar="URL", help="two empty databases instead of a local server")
    parser.add_argument("--folder", type=Path, help="where to write the clips (seen by every worker)")
    args = parser.parse_args()
    import ray

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' PostgreSQL server, run as a script
    from tests.postgres_server import running_server, server_binaries

    with ExitStack() as stack:
        tmp = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        videos = [cut_clip(tmp / f"video{i}.avi", i * args.frames, args.frames, DEMO_VIDEO) for i in range(args.videos)]
        if args.databases:
            locations, store = list(args.databases), "PostgreSQL"
        elif server_binaries() is not None:
            server = stack.enter_context(running_server(Path(tempfile.mkdtemp(prefix="reid-pg-"))))
            locations: list[str | Path] = [server.create_database("local"), server.create_database("ray")]
            store = "PostgreSQL"
        else:
            locations, store = [tmp / "local", tmp / "ray"], "SQLite (no PostgreSQL server binaries)"
        print(f"{args.videos} videos x {args.frames} frames of {DEMO_VIDEO.name}, store {store}, "
              f"{available_cores()} cores on this machine")  # fmt: skip
        local, local_tracklets = timed_ingest(locations[0], videos, on_ray=False)
        started = time.perf_counter()
        if args.address:
            ray.init(address=args.address, log_to_driver=False, logging_level="ERROR")
        else:
            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        stack.callback(ray.shutdown)
        slots = int(ray.cluster_resources().get("CPU", 0))
        print(f"Ray start ({slots} worker slots): {time.perf_counter() - started:.1f} s (not counted below)")
        on_ray, ray_tracklets = timed_ingest(locations[1], videos, on_ray=True)
    print(f"{'':<28}{'frames/s':>9}{'tracklets':>10}")
    print(f"{'one local process':<28}{local:>9.2f}{local_tracklets:>10}")
    print(f"{f'Ray, {slots} worker slots':<28}{on_ray:>9.2f}{ray_tracklets:>10}")
    print(f"ratio Ray / local: {on_ray / local:.2f}")


if __name__ == "__main__":
    main()
