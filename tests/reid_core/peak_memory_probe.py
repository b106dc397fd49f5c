"""Run as a script: embed a synthetic tracklet and print the peak RSS growth in MiB.

Kept out of the test process so earlier tests' allocations do not mask the peak. The peak is
the kernel's high-water mark (VmHWM), reset just before embedding (``/proc/self/clear_refs``):
a process-lifetime peak (ru_maxrss) is set by importing torch, and when other processes press
on memory the library pages are evicted, so later growth can stay below that first peak.
Usage: python peak_memory_probe.py FRAMES CHUNK
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from reid_core.embedder import Embedder
from reid_core.model import ModelConfig, ReIDModel


def status_kib(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def main() -> None:
    frames, chunk = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    embedder = Embedder.from_model(ReIDModel(ModelConfig()), chunk_size=chunk)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (128, 64, 3), dtype=np.uint8) for _ in range(frames)]
    embedder.embed(crops[:1])  # warm-up: allocator pools and lazy init are not the tracklet's cost
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS
    before = status_kib("VmRSS")
    result = embedder.embed(crops)
    after = status_kib("VmHWM")
    assert result.heatmaps is not None and result.heatmaps.shape[0] == frames
    print(f"{(after - before) / 1024:.1f}")


if __name__ == "__main__":
    main()
