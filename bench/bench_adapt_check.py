"""Does `reid adapt`'s label-free self-check follow the real mAP? One row per checkpoint, both numbers.

The self-check (training.adapt.self_check) is computed on every tracklet of the check set's
workspace (no label used); the mAP is the labelled cross-camera score (training.checksets).
Give checkpoints of different quality (an untrained head, the default, an adapted one, the
default with noise added to its RRU and STIM weights) and compare the two orderings (Spearman's rank correlation).
Run: python bench/bench_adapt_check.py CHECKPOINT [CHECKPOINT ...] [--set vtest_halves] [--work DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from scipy.stats import spearmanr

from app.pipeline.check_footage import labelled_workspace
from app.pipeline.embed import decode_crops
from reid_core.checkpoint import load_model
from reid_core.workspace import Workspace
from training.adapt import AdaptConfig, self_check, tracklet_maps
from training.checksets import checkpoint_embedder, score_embedder, thinned, workspace_set

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--set", default="vtest_halves")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-quality")
    args = parser.parse_args()
    torch.set_num_threads(2)
    labels = ROOT / "bench" / "labels" / f"{args.set}.json"
    folder = labelled_workspace(labels, args.work, SHARED)
    labelled = thinned(workspace_set(folder, labels), 16)
    with Workspace(folder, create=False) as workspace:
        unlabelled = [
            (row.camera, row.video_id, (row.start_time, row.end_time), decode_crops(workspace.crops(row.id)))
            for row in workspace.tracklets()
        ]
    checks, maps_ = [], []
    print(f"{'checkpoint':<36}{'self-check':>11}{'mAP':>8}{'rank-1':>8}")
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint).eval()
        check = self_check(model, tracklet_maps(model, unlabelled, AdaptConfig()))
        score = score_embedder(checkpoint_embedder(checkpoint), labelled)
        checks.append(check)
        maps_.append(score.mean_ap)
        print(f"{checkpoint.name[:35]:<36}{check:>11.3f}{score.mean_ap:>8.3f}{score.rank1:>8.3f}")
    rho = spearmanr(checks, maps_).statistic if len(checks) > 2 else float("nan")
    print(f"Spearman rank correlation, self-check vs mAP: {rho:.2f} over {len(checks)} checkpoints")


if __name__ == "__main__":
    main()
