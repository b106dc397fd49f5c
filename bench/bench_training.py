"""Training speed: clips per second and peak memory, per backbone, through the real Trainer step
(generated identity folders read from disk, SGD, L = Lc + Lv + Lp).

Each backbone runs in its own subprocess so its peak memory (RSS on the CPU, allocated memory
on CUDA) is its own. The paper's batch is N=10 × K=2 clips of T=8 frames; on a CPU the default
here is a smaller one (N=4, K=2, T=4) so a run takes minutes, not hours; pass --paper-batch for
the paper's.
Run: python bench/bench_training.py [--device cpu|cuda] [--iterations 3] [--paper-batch]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from reid_core.backbones import BACKBONES, backbone_spec
from training.config import load_config
from training.data.local import read_identity_folders
from training.data.synthetic import write_identity_folders
from training.trainer import Trainer


def measure(backbone: str, device: str, iterations: int, n: int, k: int, t: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = read_identity_folders(write_identity_folders(Path(tmp) / "ids", range(n * 2), frames=t, size=(128, 64)))
        config = load_config(
            "rru_stim_lp.yaml",
            backbone=backbone,
            ids_per_batch=n,
            tracklets_per_id=k,
            frames_per_clip=t,
            iterations_per_epoch=1,
            epochs=1,
            held_out_ids=0.0,
        )
        trainer = Trainer(config, data, Path(tmp) / "run", device=device, show_progress=False)
        trainer.train_epoch(0)  # warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        for epoch in range(1, iterations + 1):
            trainer.train_epoch(epoch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - started) / iterations
    peak_mib = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.startswith("cuda")
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    clips_per_s = n * k / seconds
    return {"backbone": backbone, "seconds_per_iteration": seconds, "clips_per_s": clips_per_s, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paper-batch", action="store_true", help="N=10, K=2, T=8")
    parser.add_argument("--backbones", nargs="*", default=sorted(BACKBONES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n, k, t = (10, 2, 8) if args.paper_batch else (4, 2, 4)
    if args.one:
        print(json.dumps(measure(args.one, args.device, args.iterations, n, k, t, args.threads)))
        return
    print(f"torch {torch.__version__}, device {args.device}, {args.threads} threads, batch N={n} K={k} T={t}")
    print(f"{'backbone':<14}{'input':>10}{'s/iter':>9}{'clips/s':>9}{'frames/s':>10}{'peak MiB':>10}")
    for backbone in args.backbones:
        command = [sys.executable, __file__, "--one", backbone, "--device", args.device]
        command += ["--iterations", str(args.iterations), "--threads", str(args.threads)]
        command += ["--paper-batch"] if args.paper_batch else []
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        height, width = backbone_spec(backbone).input_size
        print(
            f"{backbone:<14}{f'{height}x{width}':>10}{result['seconds_per_iteration']:>9.2f}"
            f"{result['clips_per_s']:>9.2f}{result['clips_per_s'] * t:>10.1f}{result['peak_mib']:>10.0f}"
        )


if __name__ == "__main__":
    main()
