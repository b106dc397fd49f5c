"""Run as a script: embed a synthetic tracklet and print the peak RSS growth in MiB.

Kept out of the test process so earlier tests' allocations do not mask the peak.
Usage: python peak_memory_probe.py FRAMES CHUNK
"""

from __future__ import annotations

import resource
import sys

import numpy as np
import torch

from reid_core.embedder import Embedder
from reid_core.model import ModelConfig, ReIDModel


def main() -> None:
    frames, chunk = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    embedder = Embedder.from_model(ReIDModel(ModelConfig()), chunk_size=chunk)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (128, 64, 3), dtype=np.uint8) for _ in range(frames)]
    embedder.embed(crops[:1])  # warm-up: allocator pools and lazy init are not the tracklet's cost
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = embedder.embed(crops)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.heatmaps is not None and result.heatmaps.shape[0] == frames
    print(f"{(after - before) / 1024:.1f}")


if __name__ == "__main__":
    main()
