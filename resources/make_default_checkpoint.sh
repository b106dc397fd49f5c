#!/usr/bin/env bash
# How resources/reid_default.pt was made (run from the repository root, CPU, ~15 min on 2 cores):
# an RRU+STIM model on ImageNet MobileNetV2 features, adapted without labels to the shipped
# footage (vtest.avi): one track = one person, tracks overlapping in time = different people.
set -euo pipefail
WEIGHTS=${1:-../shared/data/backbones/mobilenet_v2_imagenet_features.pt}
WORK=$(mktemp -d)
python -m training.init_checkpoint "$WEIGHTS" "$WORK/untrained.pt"
reid ingest "$WORK/plaza" resources/vtest.avi --camera plaza
reid adapt "$WORK/plaza" --start-from "$WORK/untrained.pt" --device cpu --seed 0 --out resources/reid_default.pt
rm -rf "$WORK"
