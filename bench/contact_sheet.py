"""A contact sheet of a workspace's tracklets, for labelling check sets by eye (bench/labels/*.json).

One row per tracklet: its camera, first/last frame and six crops spread over it. Look at the
sheet, give each person a number, and write the rows into a labels file.
Run: python bench/contact_sheet.py WORKSPACE OUT.png [--cameras M F]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.embed import decode_crops
from reid_core.workspace import Workspace

THUMB = (64, 128)  # width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cameras", nargs="*")
    args = parser.parse_args()
    rows = []
    with Workspace(args.workspace, create=False) as workspace:
        for row in workspace.tracklets():
            if args.cameras and row.camera not in args.cameras:
                continue
            crops = decode_crops(workspace.crops(row.id))
            picks = np.linspace(0, len(crops) - 1, 6).round().astype(int)
            thumbs = [cv2.resize(crops[i], THUMB) for i in picks]
            label = np.full((THUMB[1], 200, 3), 255, np.uint8)
            cv2.putText(label, f"#{row.id} {row.camera}", (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
            cv2.putText(
                label, f"{row.start_frame}-{row.end_frame}", (4, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1
            )
            rows.append(np.hstack([label, *thumbs]))
    sheet = np.vstack(rows)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"{len(rows)} tracklets → {args.out}")


if __name__ == "__main__":
    main()
