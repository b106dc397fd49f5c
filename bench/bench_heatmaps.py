"""Do the RRU update gates look at the person? Before/after pictures and a number.

For every tracklet of a labelled check set, each model's gate maps (channel mean of Z_t) are
compared between the crop's centre — the middle half of its width, the rows between 10 % and
90 % of its height, where a detector box puts the person — and the rest (background at the
sides). The figure is the mean of centre / border over frames and tracklets: above 1 means the
gates let the person's appearance in more than the background's. A second figure uses the
person itself: foreground masks from background subtraction of the set's static cameras
(``training.person_masks``), mean gate on the person over mean gate on the background, over
the frames whose mask is usable. The check sets are never trained on, so both are held out.
A picture with a few tracklets' crops under each model is written beside it.
Run: python bench/bench_heatmaps.py OUT.png CHECKPOINT [CHECKPOINT ...] [--set vtest_halves] [--work DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from app.pipeline.check_footage import labelled_workspace
from app.pipeline.overlay import normalise_maps, overlay_heatmap
from reid_core.checkpoint import load_model
from reid_core.embedder import Embedder
from training.checksets import workspace_set
from training.person_masks import workspace_masks

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def centre_mask(height: int, width: int) -> np.ndarray:
    """Cells whose centres fall inside the middle half of the width and 10–90 % of the height."""
    ys = (np.arange(height) + 0.5) / height
    xs = (np.arange(width) + 0.5) / width
    return ((ys > 0.1) & (ys < 0.9))[:, None] & ((xs > 0.25) & (xs < 0.75))[None, :]


def person_ratio(maps: np.ndarray) -> float:
    mask = centre_mask(*maps.shape[1:])
    return float(np.mean(maps[:, mask].mean(axis=1) / np.maximum(maps[:, ~mask].mean(axis=1), 1e-6)))


def mask_ratio(maps: np.ndarray, masks: np.ndarray, reliable: np.ndarray) -> float | None:
    """Mean over usable frames of (gate on the person) / (gate on the background); None without one."""
    if not reliable.any():
        return None
    maps, masks = maps[reliable], masks[reliable]
    on = (maps * masks).sum(axis=(1, 2)) / np.maximum(masks.sum(axis=(1, 2)), 1e-6)
    off = (maps * (1 - masks)).sum(axis=(1, 2)) / np.maximum((1 - masks).sum(axis=(1, 2)), 1e-6)
    return float(np.mean(on / np.maximum(off, 1e-6)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--set", default="vtest_halves")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-quality")
    parser.add_argument("--show", type=int, default=6, help="tracklets in the picture")
    args = parser.parse_args()
    torch.set_num_threads(2)
    labels = ROOT / "bench" / "labels" / f"{args.set}.json"
    folder = labelled_workspace(labels, args.work, SHARED)
    tracklets = workspace_set(folder, labels)
    person = workspace_masks(folder, [t.tracklet_id for t in tracklets])
    usable = np.concatenate([person[t.tracklet_id].reliable[:16] for t in tracklets])
    print(f"person masks: {usable.mean():.0%} of {len(usable)} frames usable")
    shown = [t.crops[len(t.crops) // 2 : len(t.crops) // 2 + 4] for t in tracklets[:: max(1, len(tracklets) // 20)]]
    rows = []
    for checkpoint in args.checkpoints:
        embedder = Embedder.from_model(load_model(checkpoint).eval())
        ratios, on_person = [], []
        for t in tracklets:
            maps = embedder.embed(t.crops[:16]).heatmaps.astype(np.float32)
            ratios.append(person_ratio(maps))
            masks = person[t.tracklet_id]
            on_person.append(mask_ratio(maps, masks.masks[:16], masks.reliable[:16]))
        kept = [r for r in on_person if r is not None]
        print(
            f"{checkpoint.name:<40} centre/border gate ratio {np.mean(ratios):.3f}, person/background "
            f"{np.mean(kept):.3f} over {len(ratios)} tracklets ({len(kept)} with a usable mask)"
        )
        tiles = []
        for crops in shown[: args.show]:
            maps = normalise_maps(embedder.embed(crops).heatmaps)
            tiles.append(overlay_heatmap(crops[-1], maps[-1], 0.5))
        name = np.full((tiles[0].shape[0], 150, 3), 255, np.uint8)
        lines = [checkpoint.stem[:18], f"centre {np.mean(ratios):.3f}", f"person {np.mean(kept):.3f}"]
        for line, text in enumerate(lines):
            cv2.putText(name, text, (4, 30 + 24 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        rows.append(np.hstack([name, *tiles]))
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"picture: {args.out} (one row per checkpoint, in the order given)")


if __name__ == "__main__":
    main()
