"""Embedding throughput (batched across tracklets vs one tracklet at a time vs the backbone alone), and rank-1.

Part 1, measured side by side in one run on the same crops, per model and engine:
  backbone alone   the backbone on the already-normalised crops, batches of CHUNK frames: the floor
  embedder         ``Embedder.embed_many`` as ``reid embed`` runs it (all stages, resizing included)
  one at a time    the same driver with ``max_tracklets=1`` and the per-crop resize
                   (``preprocess_reference``): what embedding cost before the recurrence was batched
Tracklets are TRACKLETS × 8–32 crops at the stored crop size (ingest stores 256×128 crops, ≤ 32
per tracklet), so the resize is skipped where the model's input is 256×128, as in ``reid embed``.
Part 2 (needs ../shared/data): on the vut_corridor *_single pair (cameras M and F, one
person) plus a vtest.avi slice of other people (camera V), the fraction of M tracklets whose
first match among F and V tracklets is an F tracklet, for our default checkpoint and for
OSNet-x0.25 (MSMT17) with per-frame embeddings averaged.
Run: python bench/bench_embed.py [--models default,mobilenet_v2] [--engines onnx,torch] [--skip-rank1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from app.pipeline.embed import TRACKLETS_PER_COMMIT, decode_crops, embed_workspace, shipped_onnx
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import QueryOptions, query_workspace
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.checkpoint import file_digest, load_model
from reid_core.embedder import WORKSPACE_CHUNK, Embedder, preprocess, preprocess_reference
from reid_core.model import ModelConfig, ReIDModel
from reid_core.onnx_engine import export_onnx, onnx_embedder
from reid_core.search import normalise, top_k_cosine
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRACKLETS, CHUNK = TRACKLETS_PER_COMMIT, WORKSPACE_CHUNK  # as ``reid embed``: 16 tracklets at a time, 64-frame chunks


def tracklets_of_stored_crops(count: int, seed: int = 0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        [rng.integers(0, 255, (256, 128, 3), dtype=np.uint8) for _ in range(int(rng.integers(8, 33)))]
        for _ in range(count)
    ]


@torch.inference_mode()  # as the embedder runs: no autograd graph kept
def seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: lazy initialisation, allocator pools
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - started) / repeats


def make_embedder(name: str, engine: str, folder: Path) -> Callable[[int], Embedder]:
    """A factory of embedders for one model on one engine, by the number of tracklets stepped together."""
    if name == "default":
        model = load_model(DEFAULT_REID_CHECKPOINT).eval()
        onnx_folder = shipped_onnx(DEFAULT_REID_CHECKPOINT, file_digest(DEFAULT_REID_CHECKPOINT))
    else:
        torch.manual_seed(0)
        model, onnx_folder = ReIDModel(ModelConfig(backbone=name)).eval(), None
    if engine == "onnx":
        onnx_folder = onnx_folder or export_onnx(model, folder / name)
        return lambda rows: onnx_embedder(onnx_folder, chunk_size=CHUNK, max_tracklets=rows)
    return lambda rows: Embedder.from_model(model, chunk_size=CHUNK, max_tracklets=rows)


def measure(factory: Callable[[int], Embedder], tracklets: list[list[np.ndarray]], repeats: int) -> dict[str, float]:
    """Seconds per run of each mode, side by side on the same tracklets."""
    batched, before = factory(TRACKLETS), factory(1)
    before.preprocess = preprocess_reference
    normalised = preprocess([crop for t in tracklets for crop in t], batched.spec)
    chunks = [normalised[i : i + CHUNK] for i in range(0, normalised.shape[0], CHUNK)]
    return {
        "backbone alone": seconds(lambda: [batched.stages.maps(chunk).sum() for chunk in chunks], repeats),
        "embedder": seconds(lambda: batched.embed_many(tracklets), repeats),
        "one at a time": seconds(lambda: before.embed_many(tracklets), repeats),
    }


def throughput(names: list[str], engines: list[str], repeats: int) -> None:
    tracklets = tracklets_of_stored_crops(TRACKLETS)
    frames = sum(len(t) for t in tracklets)
    print(f"{TRACKLETS} tracklets, {frames} crops (8-32 each, 256x128), {torch.get_num_threads()} threads, CPU")
    print(f"{'model':<14}{'engine':<7}{'mode':<16}{'tracklets/s':>12}{'frames/s':>10}{'x backbone':>11}{'x before':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for engine in engines:
                times = measure(make_embedder(name, engine, Path(tmp)), tracklets, repeats)
                for mode, took in times.items():
                    print(
                        f"{name:<14}{engine:<7}{mode:<16}{TRACKLETS / took:>12.2f}{frames / took:>10.1f}"
                        f"{took / times['backbone alone']:>11.2f}{times['one at a time'] / took:>9.2f}"
                    )


def build_workspace(folder: Path) -> Path:
    corridor = SHARED / "video" / "vut_corridor"
    with Workspace(folder) as ws:
        if len(ws.videos()) < 3:
            strided = TrackletParams(frame_stride=5)
            ingest_videos(ws, [corridor / "s3_m_front_single.mp4"], camera="M", tracklet_params=strided)
            ingest_videos(ws, [corridor / "s3_f_side_single.mp4"], camera="F", tracklet_params=strided)
            ingest_videos(ws, [cut_clip(folder / "vtest_slice.avi", 0, 120, source=DEMO_VIDEO)], camera="V")
        embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")
    return folder


def osnet_vectors(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    model = SHARED / "peers" / "osnet_x0_25_msmt17.onnx"
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    ids, vectors = [], []
    for t in ws.tracklets():
        crops = [cv2.resize(c, (128, 256)).astype(np.float32) / 255.0 for c in decode_crops(ws.crops(t.id))]
        batch = ((np.stack(crops) - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)
        frames = session.run(None, {session.get_inputs()[0].name: batch})[0]
        ids.append(t.id)
        vectors.append(normalise(normalise(frames).mean(axis=0)))
    return np.array(ids), np.stack(vectors)


def rank1(ws: Workspace) -> None:
    rows = {t.id: t for t in ws.tracklets()}
    queries = [t.id for t in rows.values() if t.camera == "M"]
    ours = sum(query_workspace(ws, [q], options=QueryOptions(top_k=1))[0].camera == "F" for q in queries)
    ids, vectors = osnet_vectors(ws)
    cameras = np.array([rows[int(i)].camera for i in ids])
    theirs = 0
    for q in queries:
        found, _ = top_k_cosine(vectors[list(ids).index(q)], vectors, 1, mask=cameras != "M")
        theirs += cameras[found[0]] == "F"
    counts = {c: int((cameras == c).sum()) for c in ("M", "F", "V")}
    print(f"tracklets: {counts}; rank-1 = share of M queries whose first match is in F")
    print(f"ours (default checkpoint, untrained RRU+STIM): {ours}/{len(queries)}")
    print(f"OSNet-x0.25 MSMT17, frames averaged        : {theirs}/{len(queries)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="default,mobilenet_v2", help="default (the shipped model) or backbones")
    parser.add_argument("--engines", default="onnx,torch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-rank1", action="store_true")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace folder for the rank-1 part")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    throughput(args.models.split(","), args.engines.split(","), args.repeats)
    if args.skip_rank1:
        return
    if not (SHARED / "video" / "vut_corridor").is_dir():
        print(f"rank-1 part skipped: {SHARED} not found")
        return
    folder = args.workspace or Path(tempfile.mkdtemp())
    with Workspace(build_workspace(folder)) as ws:
        rank1(ws)


if __name__ == "__main__":
    main()
