"""How good are the person masks the gate loss learns from? Figures per camera and a contact sheet.

For every tracklet of the given workspaces (``training.person_masks``: foreground against the
video's median background, inside each crop's box, at the 8×4 map grid) it prints, per camera,
the share of crops whose mask is usable and the mean mask in the crop's centre cells versus its
border cells (a detector box puts the person in the centre, so a mask that finds people is
higher there). The sheet shows a few tracklets' crops beside their masks, to check by eye.
Run: python bench/bench_person_masks.py OUT.jpg WORKSPACE [WORKSPACE ...] [--cameras NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bench.bench_heatmaps import centre_mask
from reid_core.crops import decode_crops
from reid_core.workspace import Workspace
from training.person_masks import GRID, contact_sheet, workspace_masks

SHOWN_PER_CAMERA = 2
CROPS_PER_ROW = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("workspaces", nargs="+", type=Path)
    parser.add_argument("--cameras", nargs="*", help="only these cameras")
    args = parser.parse_args()
    centre = centre_mask(*GRID)
    rows = []
    for folder in args.workspaces:
        with Workspace(folder, create=False) as workspace:
            tracklets = [t for t in workspace.tracklets() if not args.cameras or t.camera in args.cameras]
            masks = workspace_masks(folder, [t.id for t in tracklets])
            for camera in sorted({t.camera for t in tracklets}):
                ids = [t.id for t in tracklets if t.camera == camera]
                grids = np.concatenate([masks[i].masks for i in ids])
                usable = np.concatenate([masks[i].reliable for i in ids])
                print(
                    f"{folder.name}/{camera}: {len(ids)} tracklets, {len(usable)} crops, {usable.mean():.0%} usable; "
                    f"mask centre {grids[:, centre].mean():.2f} vs border {grids[:, ~centre].mean():.2f}"
                )
                for i in ids[:: max(1, len(ids) // SHOWN_PER_CAMERA)][:SHOWN_PER_CAMERA]:
                    crops = decode_crops(workspace.crops(i))
                    keep = np.linspace(0, len(crops) - 1, min(CROPS_PER_ROW, len(crops))).round().astype(int)
                    rows.append(contact_sheet([crops[k] for k in keep], masks[i].masks[keep], masks[i].reliable[keep]))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    sheet = cv2.resize(sheet, (sheet.shape[1] * 3 // 8, sheet.shape[0] * 3 // 8), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"sheet: {args.out} (each crop beside its mask; a dropped mask framed in red)")


if __name__ == "__main__":
    main()
