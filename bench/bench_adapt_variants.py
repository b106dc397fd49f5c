"""What `reid adapt` keeps and what that does to real quality: adapt settings compared on vtest_halves.

Each variant adapts the same start checkpoint to the (unlabelled) vtest_halves workspace with
``training.adapt.adapt`` on the same cached backbone maps, then the labelled tracklets (16 crops
each, as `bench/bench_quality.py` scores them) are embedded by the adapted heads: rank-1, mAP,
and the update gates' centre/border ratio (`bench/bench_heatmaps.py`'s centre mask). The backbone
is frozen, so its maps are computed once per start checkpoint and cached in --work.
Run: python bench/bench_adapt_variants.py CKPT [--work DIR] [VARIANT ...], a VARIANT being JSON
AdaptConfig overrides, e.g. '{}' (the defaults) '{"adapt_gates": false, "keep_norm_statistics": true}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from app.pipeline.check_footage import labelled_workspace
from bench.bench_heatmaps import centre_mask
from reid_core.checkpoint import load_model
from reid_core.crops import decode_crops
from reid_core.embedder import preprocess
from reid_core.model import ReIDModel
from reid_core.workspace import Workspace
from training.adapt import AdaptConfig, TrackletMaps, adapt, tracklet_maps, tracklet_vector
from training.checksets import cross_camera_score, thinned, workspace_set

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "bench" / "labels" / "vtest_halves.json"


def cached_maps(model: ReIDModel, folder: Path, cache: Path) -> dict:
    """Adapt's maps of every workspace tracklet and the labelled tracklets' maps, made once."""
    if cache.exists():
        data = torch.load(cache, weights_only=True)
        return data | {"maps": [TrackletMaps(*fields) for fields in data["maps"]]}
    with Workspace(folder, create=False) as workspace:
        rows = [r for r in workspace.tracklets() if r.length >= 2]
        tracklets = [
            (r.camera, r.video_id, (r.start_time, r.end_time), decode_crops(workspace.crops(r.id))) for r in rows
        ]
    labelled = thinned(workspace_set(folder, LABELS), 16)
    with torch.inference_mode():
        label_maps = [model.backbone.features(preprocess(t.crops, model.spec)).clone() for t in labelled]
    maps = tracklet_maps(model, [t for t in tracklets if len(t[3]) >= 2], AdaptConfig())
    data = {"label_maps": label_maps, "labelled": [(t.camera, t.person) for t in labelled]}
    torch.save(data | {"maps": [(m.camera, m.video, m.span, m.views) for m in maps]}, cache)
    return data | {"maps": maps}


def judged(model: ReIDModel, data: dict) -> tuple[float, float, float]:
    """rank-1, mAP and mean centre/border gate ratio on the labelled tracklets."""
    model.eval()
    labelled = [argparse.Namespace(camera=c, person=p) for c, p in data["labelled"]]
    mask = torch.from_numpy(centre_mask(*data["label_maps"][0].shape[2:]))
    with torch.inference_mode():
        features = np.stack([tracklet_vector(model, maps).numpy() for maps in data["label_maps"]])
        ratios = []
        for maps in data["label_maps"]:
            gates = model.rru(maps.unsqueeze(0))[1][0].mean(dim=1)  # T × h × w
            ratios.append((gates[:, mask].mean(1) / gates[:, ~mask].mean(1).clamp_min(1e-6)).mean().item())
    score = cross_camera_score(features, labelled)
    return score.rank1, score.mean_ap, float(np.mean(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("variants", nargs="*", default=["{}"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-quality")
    args = parser.parse_intermixed_args()
    torch.set_num_threads(2)
    folder = labelled_workspace(LABELS, args.work, ROOT.parent / "shared" / "data")
    model = load_model(args.checkpoint).eval()
    data = cached_maps(model, folder, args.work / f"adapt_variants_{args.checkpoint.stem}.pt")
    rank1, mean_ap, ratio = judged(model, data)
    print(f"start model: rank-1 {rank1:.3f}  mAP {mean_ap:.3f}  centre/border gate {ratio:.3f}")
    for variant in args.variants:
        config = dataclasses.replace(AdaptConfig(), **{"check": "self"} | json.loads(variant))
        started = time.time()
        outcome = adapt(model, data["maps"], config, log=lambda _: None)
        rank1, mean_ap, ratio = judged(outcome.model or model, data)
        verdict = "accepted" if outcome.accepted else "refused"
        print(
            f"{variant}: {verdict}, self-check {outcome.start_score:.3f} → {outcome.best_score:.3f} | "
            f"rank-1 {rank1:.3f}  mAP {mean_ap:.3f}  centre/border gate {ratio:.3f}  ({time.time() - started:.0f} s)"
        )


if __name__ == "__main__":
    main()
