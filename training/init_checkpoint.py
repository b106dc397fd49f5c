"""Write an untrained RRU+STIM checkpoint on ImageNet backbone weights.

The "ImageNet start" of the quality table (README, Re-ID quality): the backbone carries ImageNet
features, the RRU and STIM layers are only initialised (seeded). The shipped default
(resources/reid_default.pt) is trained: resources/make_default_checkpoint.sh.
Usage: python -m training.init_checkpoint BACKBONE_WEIGHTS OUT [--backbone mobilenet_v2] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from reid_core.checkpoint import save_checkpoint
from reid_core.model import ModelConfig, ReIDModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("backbone_weights", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = ReIDModel(ModelConfig(backbone=args.backbone), backbone_weights=args.backbone_weights)
    meta = {
        "name": f"{args.backbone}-imagenet-untrained-rru-stim",
        "trained": False,
        "description": f"ImageNet backbone; RRU and STIM initialised with seed {args.seed}, not trained on re-ID data",
    }
    save_checkpoint(model, args.out, meta)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
