"""Compare re-ID checkpoints (e.g. the shipped default against the untrained one it started from).

Two measurements, each printed per checkpoint:
1. Real footage (vut_corridor *_single pair, cameras M and F see the same person; a vtest.avi
   slice adds other people as camera V): share of M tracklets whose first match is in F, and the
   mean margin between the best F and the best V similarity (higher = more separable).
2. Generated identities never trained on (two cameras rendering colour differently):
   rank-1 and mAP, 16 ids, camera 0 → camera 1.
Run: python bench/bench_checkpoints.py CHECKPOINT [CHECKPOINT ...] [--stride 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from app.pipeline.embed import embed_workspace
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import QueryOptions, query_workspace
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.checkpoint import file_digest, load_model
from reid_core.workspace import Workspace
from resources import DEMO_VIDEO
from training.data.local import read_identity_folders
from training.data.records import VideoDataset
from training.data.synthetic import write_identity_folders
from training.trainer import evaluate_model

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "vut_corridor"


def corridor_workspace(folder: Path, stride: int) -> Path:
    other = cut_clip(folder / "vtest_slice.avi", 0, 120, source=DEMO_VIDEO)
    with Workspace(folder / "ws") as ws:
        for camera, name in (("M", "s3_m_front_single.mp4"), ("F", "s3_f_side_single.mp4")):
            ingest_videos(ws, [SHARED / name], camera=camera, tracklet_params=TrackletParams(frame_stride=stride))
        ingest_videos(ws, [other], camera="V")
    return folder / "ws"


def corridor_scores(folder: Path, checkpoint: Path) -> tuple[int, int, float]:
    with Workspace(folder) as ws:
        embed_workspace(ws, checkpoint, "cpu")
        model_id = file_digest(checkpoint)
        queries = [t for t in ws.tracklets() if t.camera == "M"]
        hits, margins = 0, []
        for query in queries:
            matches = query_workspace(ws, [query.id], model_id, QueryOptions(top_k=200))
            hits += matches[0].camera == "F"
            best = {c: max((m.similarity for m in matches if m.camera == c), default=-1.0) for c in ("F", "V")}
            margins.append(best["F"] - best["V"])
    return hits, len(queries), float(np.mean(margins))


def generated_scores(checkpoint: Path, root: Path) -> tuple[float, float]:
    everyone = read_identity_folders(root)
    query = [r for r in everyone.train if r.camid == 0]
    gallery = [r for r in everyone.train if r.camid == 1]
    result = evaluate_model(load_model(checkpoint).eval(), VideoDataset("generated", [], query, gallery))
    return result.per_rank[1], result.mean_ap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--stride", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = corridor_workspace(Path(tmp), args.stride)
        generated = write_identity_folders(Path(tmp) / "ids", range(16, 32), tracklets=1)
        print(f"{'checkpoint':<40}{'M→F rank-1':>12}{'F−V margin':>12}{'gen R1':>8}{'gen mAP':>9}")
        for checkpoint in args.checkpoints:
            hits, total, margin = corridor_scores(folder, checkpoint)
            rank1, mean_ap = generated_scores(checkpoint, generated)
            print(f"{str(checkpoint)[-39:]:<40}{f'{hits}/{total}':>12}{margin:>12.3f}{rank1:>8.3f}{mean_ap:>9.3f}")


if __name__ == "__main__":
    main()
