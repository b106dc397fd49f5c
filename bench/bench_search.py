"""Search at scale: synthetic embedded workspaces of 10k–1M tracklets, and what a query costs in them.

Build a workspace (through the store API: cameras ``cam0``…, one video per camera, tracklets with
times spread over a day, random unit vectors of the default model's dimension registered as a
normal model and made active, then the vector index):

    python bench/bench_search.py --make-workspace /tmp/ws100k --tracklets 100000 --cameras 8

Measure one or more of them (each in a fresh process, so its peak memory is its own):

    python bench/bench_search.py /tmp/ws10k /tmp/ws100k /tmp/ws1m

Per workspace it prints: open (workspace + vector index), first query, warm queries (median of
``--repeats``: no filter, camera + time filters, re-ranking), ``reid query`` as a whole process
(plain and with ``--cameras --after --before``), peak RSS of the measuring process, and the same
top-k by FAISS ``IndexFlatIP`` on the same vectors (index built outside the timing) as a ratio
ours / FAISS, when faiss is installed.

    python bench/bench_search.py --hnsw /tmp/ws100k

measures what an approximate index would give: FAISS HNSW build time, recall@20 against the exact
ranking and latency for several efSearch values.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.pipeline.query import QueryOptions, active_model_id, query_workspace  # noqa: E402
from reid_core.store.vector_index import open_index, sync_index  # noqa: E402
from reid_core.workspace import Workspace  # noqa: E402

CHUNK = 50_000
DAY = 86_400.0


def make_workspace(folder: Path, tracklets: int, cameras: int, seed: int = 0) -> None:
    """A workspace of ``tracklets`` embedded synthetic tracklets, built through the store API."""
    from reid_core.checkpoint import file_digest, model_from_checkpoint, read_checkpoint
    from resources import DEFAULT_REID_CHECKPOINT

    data = read_checkpoint(DEFAULT_REID_CHECKPOINT)
    dim = model_from_checkpoint(data, DEFAULT_REID_CHECKPOINT).feature_dim
    model_id = f"synthetic-{file_digest(DEFAULT_REID_CHECKPOINT)[:12]}"
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with Workspace(folder) as ws:
        if ws.tracklet_count():
            raise SystemExit(f"error: {folder}: already holds tracklets; give an empty folder")
        ws.register_model(model_id, "synthetic vectors", str(DEFAULT_REID_CHECKPOINT), "synthetic", dim, data["config"])
        videos = []
        with ws.transaction():
            for c in range(cameras):
                camera_id = ws.camera_id(f"cam{c}")
                video = {"camera_id": camera_id, "path": f"synthetic://cam{c}", "content_hash": f"synthetic-{c}"}
                video |= {"fps": 10.0, "frame_count": int(DAY * 10), "width": 1920, "height": 1080, "start_time": 0.0}
                videos.append(
                    (ws.add_video(video | {"frames_processed": 0, "params": "{}", "added_at": 0.0}), camera_id)
                )
        for first in range(1, tracklets + 1, CHUNK):
            ids = np.arange(first, min(first + CHUNK, tracklets + 1))
            which = rng.integers(0, cameras, ids.size)
            starts = rng.uniform(0, DAY, ids.size)
            ends = starts + rng.uniform(1, 30, ids.size)
            rows = [
                {
                    "id": int(t),
                    "video_id": videos[w][0],
                    "camera_id": videos[w][1],
                    "track_id": int(t),
                    "start_frame": int(s * 10),
                    "end_frame": int(e * 10),
                    "start_time": float(s),
                    "end_time": float(e),
                    "length": int((e - s) * 10),
                }
                for t, w, s, e in zip(ids, which, starts, ends)
            ]
            vectors = rng.standard_normal((ids.size, dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            with ws.transaction():
                ws.add_tracklets(rows)
                ws.save_embeddings(model_id, ids.tolist(), vectors)
            print(f"\r{ids[-1]:>9} / {tracklets} tracklets", end="", flush=True)
        ws.set_meta("active_model", model_id)
        sync_index(ws, model_id)
    print(f"\n{folder}: {tracklets} tracklets in {cameras} cameras, {dim}-d, {time.perf_counter() - started:.0f} s")


def _median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(folder: Path, repeats: int) -> dict:
    """Figures for one workspace, measured in this process."""
    started = time.perf_counter()
    ws = Workspace(folder, create=False)
    model_id = active_model_id(ws)
    index = open_index(ws, model_id)
    figures: dict = {"tracklets": len(index), "open_ms": (time.perf_counter() - started) * 1000}
    rng = np.random.default_rng(1)
    queries = [int(q) for q in rng.choice(np.asarray(index.ids), repeats + 1, replace=False)]
    start = time.perf_counter()
    query_workspace(ws, [queries[0]], model_id, QueryOptions(), index)
    figures["first_query_ms"] = (time.perf_counter() - start) * 1000
    cameras = sorted(ws.cameras().values())
    variants = {
        "warm_ms": QueryOptions(),
        "warm_filtered_ms": QueryOptions(cameras=tuple(cameras[: max(1, len(cameras) // 2)]), time_window=(0, 43_200)),
        "warm_rerank_ms": QueryOptions(rerank=True),
    }
    for name, options in variants.items():
        picks = iter(queries[1:] * 2)
        figures[name] = _median_ms(
            lambda o=options, p=picks: query_workspace(ws, [next(p)], model_id, o, index), repeats
        )
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before FAISS copies
    figures |= _faiss_ratio(index, queries[1:], figures["warm_ms"])
    ws.close()
    return figures


def _faiss_ratio(index, queries: list[int], ours_ms: float) -> dict:
    """The same top-k (k=21: the query itself is in the gallery) by FAISS IndexFlatIP, unfiltered."""
    try:
        import faiss
    except ImportError:
        return {}
    flat = faiss.IndexFlatIP(index.vectors.shape[1])
    flat.add(np.ascontiguousarray(index.vectors))
    rows, _ = index.rows_of(queries)
    vectors = np.ascontiguousarray(index.vectors[rows])
    picks = iter(range(len(rows)))
    faiss_ms = _median_ms(lambda: flat.search(vectors[(i := next(picks)) : i + 1], 21), len(rows))
    return {"faiss_flat_ms": faiss_ms, "ours_over_faiss": ours_ms / faiss_ms}


def hnsw_recall(folder: Path, queries: int = 50, k: int = 20) -> None:
    """FAISS HNSW (M=32, efConstruction=80) on a workspace's vectors: build time, then recall@k
    against our exact ranking (no filters) and median latency for a few efSearch values."""
    import faiss

    with Workspace(folder, create=False) as ws:
        model_id = active_model_id(ws)
        index = open_index(ws, model_id)
        vectors = np.ascontiguousarray(index.vectors)
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(vectors)
        print(f"{len(index)} vectors: HNSW built in {time.perf_counter() - started:.0f} s")
        picks = np.random.default_rng(2).choice(len(index), queries, replace=False)
        options = QueryOptions(top_k=k, exclude_own_camera=False)
        exact = [
            {m.tracklet_id for m in query_workspace(ws, [int(index.ids[r])], model_id, options, index)} for r in picks
        ]
        for ef in (32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            found, times = [], []
            for r in picks:
                start = time.perf_counter()
                _, rows = hnsw.search(vectors[r : r + 1], k + 1)
                times.append((time.perf_counter() - start) * 1000)
                found.append({int(index.ids[i]) for i in rows[0] if i >= 0 and i != r})
            recall = np.mean([len(f & e) / len(e) for f, e in zip(found, exact)])
            print(f"efSearch {ef:>4}: recall@{k} {recall:.3f}, median {statistics.median(times):.2f} ms")


def cli_seconds(folder: Path, query_id: int, extra: list[str]) -> float:
    """Wall time of ``reid query`` as a whole process (interpreter start included)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "query", str(folder), str(query_id), *extra],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def report(folders: list[Path], repeats: int) -> None:
    print(
        f"{'tracklets':>10} {'open ms':>8} {'1st q ms':>9} {'warm ms':>8} {'filt ms':>8} {'rerank ms':>9} "
        f"{'reid query s':>12} {'+filters s':>10} {'peak MB':>8} {'faiss ms':>9} {'ours/faiss':>10}"
    )
    for folder in folders:
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(folder), "--repeats", str(repeats)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        f = json.loads(out.strip().splitlines()[-1])
        with Workspace(folder, create=False) as ws:
            query_id = ws.tracklets_by_id([1])[1].id
        plain = min(cli_seconds(folder, query_id, []) for _ in range(2))
        filtered = min(
            cli_seconds(folder, query_id, ["--cameras", "cam1", "cam2", "--after", "3600", "--before", "43200"])
            for _ in range(2)
        )
        faiss_ms = (
            f"{f['faiss_flat_ms']:>9.1f} {f['ours_over_faiss']:>10.2f}"
            if "faiss_flat_ms" in f
            else f"{'-':>9} {'-':>10}"
        )
        print(
            f"{f['tracklets']:>10} {f['open_ms']:>8.1f} {f['first_query_ms']:>9.1f} {f['warm_ms']:>8.1f} "
            f"{f['warm_filtered_ms']:>8.1f} {f['warm_rerank_ms']:>9.1f} {plain:>12.2f} {filtered:>10.2f} "
            f"{f['peak_rss_mb']:>8.0f} {faiss_ms}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspaces", nargs="*", type=Path, help="synthetic workspaces to measure")
    parser.add_argument("--make-workspace", type=Path, metavar="DIR", help="build a synthetic workspace here")
    parser.add_argument("--tracklets", type=int, default=100_000)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hnsw", type=Path, metavar="DIR", help="recall and latency of FAISS HNSW on DIR's vectors")
    args = parser.parse_args()
    if args.make_workspace:
        make_workspace(args.make_workspace, args.tracklets, args.cameras)
    elif args.hnsw:
        hnsw_recall(args.hnsw)
    elif args.measure:
        print(json.dumps(measure(args.measure, args.repeats)))
    else:
        report(args.workspaces, args.repeats)


if __name__ == "__main__":
    main()
