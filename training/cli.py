"""``reid train`` and ``reid evaluate``: the paper's protocol on the public benchmarks and local folders."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml
from tqdm import tqdm

from app.arguments import count_int, positive_int
from reid_core.devices import resolve_device
from training.config import load_config
from training.data.catalog import KINDS, SPLITS, has_splits, open_dataset
from training.evaluation import EvalResult, mean_result
from training.report import plot_cmc, results_table

if TYPE_CHECKING:
    from training.distill import CropCache, DistillConfig


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``key=value`` pairs, values read as YAML (``input_size=[128,64]``, ``amp=false``)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=KINDS, help="dataset kind (its native layout: README, Training)")
    parser.add_argument("root", type=Path, help="dataset folder (or workspace folder)")
    parser.add_argument("--splits-file", type=Path, help="JSON split file (torchreid format) for iLIDS-VID/PRID")
    parser.add_argument("--prid-convention", default="paper", choices=["paper", "178"])


def _train(args: argparse.Namespace) -> int:
    from training.trainer import Trainer

    config = load_config(args.config, epochs=args.epochs, seed=args.seed, **parse_overrides(args.set))
    dataset = open_dataset(args.dataset, args.root, args.split, args.splits_file, args.prid_convention)
    print(dataset.describe())
    out = args.out or Path("runs") / f"{args.dataset}-split{args.split}-{config.variant}"
    trainer = Trainer(
        config, dataset, out, init_checkpoint=args.init, device=resolve_device(args.device, training=True)
    )
    result = trainer.run(resume=args.resume)
    print(f"best model: {result.best}\ntraining state: {result.last}\nmetrics: {out / 'metrics.csv'}")
    if result.validation is not None:
        print(f"held-out identities: {result.validation.summary()}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from reid_core.checkpoint import load_model
    from training.trainer import evaluate_model

    splits = list(range(SPLITS)) if args.splits == "all" else [int(s) for s in args.splits.split(",")]
    if not has_splits(args.dataset):
        splits = [0]
    if len(args.checkpoint) not in (1, len(splits)):
        raise SystemExit(f"give one checkpoint, or one per split ({len(splits)})")
    device = resolve_device(args.device, training=True)
    models: dict[Path, torch.nn.Module] = {}  # one checkpoint for all splits is read once
    results: dict[str, EvalResult] = {}
    for i, split in enumerate(splits):
        checkpoint = args.checkpoint[min(i, len(args.checkpoint) - 1)]
        dataset = open_dataset(args.dataset, args.root, split, args.splits_file, args.prid_convention)
        if not dataset.query:
            raise SystemExit(f"{args.root}: {args.dataset} has no test split to evaluate on")
        if checkpoint not in models:
            models[checkpoint] = load_model(checkpoint).to(device).eval()
        model = models[checkpoint]
        label = f"split {split}" if has_splits(args.dataset) else args.dataset
        results[label] = evaluate_model(
            model, dataset, args.max_frames, device, rerank=args.rerank, ap_convention=args.ap
        )
        print(f"{label}: {results[label].summary()}")
    if len(results) > 1:
        results["mean"] = mean_result(list(results.values()))
        print(f"mean over {len(splits)} splits: {results['mean'].summary()}")
    args.out.mkdir(parents=True, exist_ok=True)
    table = results_table(results)
    (args.out / "results.md").write_text(table + "\n")
    with open(args.out / "results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "mAP", "R1", "R5", "R10", "R20", "queries"])
        for label, r in results.items():
            writer.writerow([label, r.mean_ap, *(r.per_rank.get(k) for k in (1, 5, 10, 20)), r.queries])
    plot_cmc({k: v for k, v in results.items() if k == "mean" or len(results) == 1}, args.out / "cmc.png")
    print(table)
    print(f"written: {args.out / 'results.md'}, {args.out / 'results.csv'}, {args.out / 'cmc.png'}")
    return 0


def _distill(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from training.distill import (
        DistillConfig,
        build_cache,
        distill,
        filmed_mask_share,
        load_cache,
        save_cache,
        with_made_up_people,
        workspace_tracklets,
    )
    from training.teacher import Teacher

    config = DistillConfig(**parse_overrides(args.set))
    config = replace(config, seed=args.seed if args.seed is not None else config.seed)
    torch.manual_seed(config.seed)
    teacher = Teacher(args.teacher, map_layer=args.map_layer)
    if args.cache is not None and args.cache.is_file():
        cache = load_cache(args.cache)
        print(f"teacher maps of {len(cache.teacher)} units read from {args.cache}")
    else:
        cameras = set(args.cameras) if args.cameras else None
        tracklets = workspace_tracklets(args.workspaces, config, cameras)
        if len(tracklets) < config.batch_size:
            count = len(tracklets)
            raise SystemExit(f"error: {args.workspaces[0]}: {count} usable tracklets, need {config.batch_size}")
        tracklets = with_made_up_people(tracklets, config)
        made_up = f" ({config.made_up_people} of them made-up people)" if config.made_up_people > 0 else ""
        crops = sum(len(c) for _, c in tracklets)
        print(f"{len(tracklets)} units{made_up}, {crops} crops; caching teacher maps …")
        bar = tqdm(total=len(tracklets), desc="teacher", unit="unit")
        cache = build_cache(tracklets, teacher, config, progress=lambda done, total: bar.update(done - bar.n))
        bar.close()
        if args.cache is not None:
            save_cache(cache, args.cache)
    if config.gate_weight > 0:
        cache = _with_person_masks(cache, args, config)
    provenance = {
        "data": sorted(set(cache.cameras)),
        "command": "reid " + " ".join(sys.argv[1:]),
    }
    if cache.masks:
        crops, usable = filmed_mask_share(cache)
        provenance["person_masks"] = {
            "method": "foreground vs the per-video median background, inside each crop's box, at the map grid",
            "crops": crops,  # of the filmed units: made-up people have no mask
            "usable": round(usable, 3),
        }
    result = distill(teacher, cache, args.out, config, provenance)
    print(f"wrote {result.checkpoint} ({result.seconds / 60:.1f} min); recipe: {args.out.with_suffix('.recipe.json')}")
    return 0


def _with_person_masks(cache: CropCache, args: argparse.Namespace, config: DistillConfig) -> CropCache:
    """The cache with person masks of its units: read beside ``--cache`` or made from the workspaces' videos."""
    from dataclasses import replace

    from training.distill import filmed_mask_share, load_masks, masks_with_made_up_people, save_masks, unit_masks

    path = args.cache.with_suffix(".masks.npz") if args.cache is not None else None
    if path is not None and path.is_file():
        print(f"person masks read from {path}")
        return load_masks(cache, path)
    print("person masks: background subtraction of the workspaces' videos …")
    masks, reliable = unit_masks(args.workspaces, config, set(args.cameras) if args.cameras else None)
    other_units = SystemExit(f"error: {args.cache}: the teacher cache holds other units than these workspaces")
    try:
        masks, reliable = masks_with_made_up_people(cache, masks, reliable)
    except ValueError:  # more or fewer filmed units than the cache holds
        raise other_units from None
    if [m.shape[0] for m in masks] != [t.shape[0] for t in cache.teacher]:
        raise other_units
    cache = replace(cache, masks=masks, reliable=reliable)
    crops, usable = filmed_mask_share(cache)
    print(f"person masks of {crops} filmed crops, {usable:.0%} usable")
    if path is not None:
        save_masks(cache, path)
    return cache


def add_training_commands(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train a re-ID model on a benchmark or local dataset")
    add_dataset_arguments(train)
    train.add_argument("--config", default="rru_stim_lp.yaml", help="YAML file or a training/configs name")
    train.add_argument("--split", type=count_int, default=0, help="which of the 10 splits (iLIDS-VID, PRID-2011)")
    train.add_argument("--out", type=Path, help="run folder (default runs/DATASET-splitN-VARIANT)")
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--seed", type=count_int)
    train.add_argument("--init", type=Path, help="start from this checkpoint instead of the backbone weights")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    train.add_argument("--resume", action="store_true", help="continue from the run folder's last.pt")
    train.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="CMC and mAP of checkpoints on a test split; table + plot")
    add_dataset_arguments(evaluate)
    evaluate.add_argument("--checkpoint", nargs="+", type=Path, required=True, help="one, or one per split")
    evaluate.add_argument("--splits", default="0", help="'all' or comma-separated split numbers")
    evaluate.add_argument("--out", type=Path, default=Path("evaluation"))
    evaluate.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    evaluate.add_argument("--ap", default="official", choices=["official", "mean_precision"])
    evaluate.add_argument("--max-frames", type=positive_int, help="frames per tracklet (evenly spaced; default all)")
    evaluate.add_argument("--device", default="auto")
    evaluate.set_defaults(run=_evaluate)

    distill = commands.add_parser("distill", help="distil a teacher re-ID network into RRU+STIM (the default's recipe)")
    distill.add_argument("workspaces", nargs="+", type=Path, help="ingested workspaces whose tracklets to learn from")
    distill.add_argument("--teacher", type=Path, required=True, help="OpenVINO IR .xml of an OMZ re-ID model")
    distill.add_argument("--map-layer", type=int, help="IR layer the student's backbone ends at (default: its cut)")
    distill.add_argument("--cameras", nargs="*", help="only these cameras")
    distill.add_argument("--out", type=Path, required=True)
    distill.add_argument("--seed", type=int)
    distill.add_argument("--cache", type=Path, help="keep the teacher's maps in this .npz (read it if it exists)")
    distill.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE",
        help="DistillConfig fields (defaults: the shipped recipe; made_up_people=0 gate_weight=0 drop its extras)",
    )  # fmt: skip
    distill.set_defaults(run=_distill)
