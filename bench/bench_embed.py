"""Embedding throughput per backbone, and rank-1 of the default model beside OSNet.

Part 1: tracklets/s for 32-crop tracklets on this machine (CPU, and CUDA when present).
Part 2 (needs ../shared/data): on the vut_corridor *_single pair (cameras M and F, one
person) plus a vtest.avi slice of other people (camera V), the fraction of M tracklets whose
first match among F and V tracklets is an F tracklet, for our default checkpoint and for
OSNet-x0.25 (MSMT17) with per-frame embeddings averaged.
Run: python bench/bench_embed.py [--skip-rank1] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from app.pipeline.embed import decode_crops, embed_workspace
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import QueryOptions, query_workspace
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.backbones import BACKBONES
from reid_core.embedder import Embedder
from reid_core.model import ModelConfig, ReIDModel
from reid_core.search import normalise, top_k_cosine
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRACKLETS, CROPS = 16, 32


def throughput(device: str) -> None:
    rng = np.random.default_rng(0)
    tracklets = [[rng.integers(0, 255, (256, 128, 3), dtype=np.uint8) for _ in range(CROPS)] for _ in range(TRACKLETS)]
    for name in sorted(BACKBONES):
        embedder = Embedder.from_model(ReIDModel(ModelConfig(backbone=name)), device=device, chunk_size=64)
        embedder.embed_many(tracklets[:2])  # warm-up
        start = time.perf_counter()
        embedder.embed_many(tracklets)
        rate = TRACKLETS / (time.perf_counter() - start)
        print(f"{name:<14}{device:<6}{rate:>10.2f} tracklets/s  ({rate * CROPS:.0f} frames/s, {CROPS} crops each)")


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
    parser.add_argument("--skip-rank1", action="store_true")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace folder for the rank-1 part")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    throughput("cpu")
    if torch.cuda.is_available():
        throughput("cuda")
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
