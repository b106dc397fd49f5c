"""Embedder cost on this CPU: backbone alone vs the whole RRU+STIM embedder.

Prints, per backbone, ms per frame for the backbone on a batch of frames and for the full
embedder on 16- and 64-frame tracklets, and the ratio embedder / backbone (what the RRU
recurrence and STIM add). Run: python bench/bench_model.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from reid_core.backbones import BACKBONES
from reid_core.embedder import DEFAULT_CHUNK, Embedder, preprocess
from reid_core.model import ModelConfig, ReIDModel


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backbones", nargs="*", default=sorted(BACKBONES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {args.threads} threads, best of {args.repeats}")
    print(f"{'backbone':<14}{'frames':>7}{'backbone ms/f':>15}{'embedder ms/f':>15}{'ratio':>8}")
    for name in args.backbones:
        model = ReIDModel(ModelConfig(backbone=name)).eval()
        embedder = Embedder.from_model(model, chunk_size=DEFAULT_CHUNK)
        for length in (16, 64):
            crops = [rng.integers(0, 255, (256, 128, 3), dtype=np.uint8) for _ in range(length)]
            frames = preprocess(crops, model.spec)

            def backbone_only(frames: torch.Tensor = frames, model: ReIDModel = model) -> None:
                with torch.inference_mode():
                    for start in range(0, frames.shape[0], 32):
                        model.backbone.features(frames[start : start + 32])

            def whole(crops: list[np.ndarray] = crops, embedder: Embedder = embedder) -> None:
                embedder.embed(crops)

            backbone_ms = best_seconds(backbone_only, args.repeats) * 1000 / length
            embedder_ms = best_seconds(whole, args.repeats) * 1000 / length
            print(f"{name:<14}{length:>7}{backbone_ms:>15.1f}{embedder_ms:>15.1f}{embedder_ms / backbone_ms:>8.2f}")


if __name__ == "__main__":
    main()
