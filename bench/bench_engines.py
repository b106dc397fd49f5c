"""ms per crop of whole re-ID checkpoints on both CPU engines (torch, onnxruntime), side by side.

32-crop tracklets of random pixels, 2 threads, after one warm-up; the ONNX graphs shipped
beside a checkpoint are used when they are its own, else exported to a temporary folder.
Run: python bench/bench_engines.py [CHECKPOINT ...]   (default: resources/reid_default.pt)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from app.pipeline.embed import shipped_onnx
from reid_core.checkpoint import file_digest, load_model
from reid_core.embedder import Embedder
from reid_core.onnx_engine import export_onnx, onnx_embedder
from resources import DEFAULT_REID_CHECKPOINT

CROPS = 32
REPEATS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="*", type=Path, default=[DEFAULT_REID_CHECKPOINT])
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (256, 128, 3), dtype=np.uint8) for _ in range(CROPS)]
    print(f"{'checkpoint':<32}{'backbone':<16}{'torch ms/crop':>14}{'onnx ms/crop':>14}")
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint).eval()
        folder = shipped_onnx(checkpoint, file_digest(checkpoint)) or export_onnx(model, tempfile.mkdtemp())
        figures = []
        for embedder in (Embedder.from_model(model), onnx_embedder(folder)):
            embedder.embed(crops[:4])
            started = time.perf_counter()
            for _ in range(REPEATS):
                embedder.embed(crops)
            figures.append((time.perf_counter() - started) / (REPEATS * CROPS) * 1000)
        print(f"{checkpoint.name[:31]:<32}{model.config.backbone:<16}{figures[0]:>14.1f}{figures[1]:>14.1f}")


if __name__ == "__main__":
    main()
