"""Re-ID quality on labelled multi-camera footage: rank-1 and mAP of every model on the SAME tracklets.

Check sets (each made by the project's own ingestion; labels in bench/labels/, how they were
made is written in each file's "how" field):
- vut_corridor_multi: the two real corridor cameras of ../shared/data (the *_multi pair, never
  used for training or tuning: it judges), 2 people, labelled by eye.
- vtest_halves: vtest.avi cut into a left and a right camera (no overlap); a person crossing the
  plaza appears in both; labels from the full-frame tracker's track ids, checked by eye.
- multiviewx_geo: four synchronised calibrated cameras of the synthetic MultiviewX scene; labels by
  where people stand on the ground plane (bench/labels/make_multiviewx_geo.py), checked by eye.
  In-domain for the default (its distillation saw these cameras' crops, unlabelled).
A set whose footage is not under ../shared/data is skipped with the reason.
Models: the ImageNet start (MobileNetV2 + seed-0 RRU+STIM, untrained), the shipped default,
the default after `reid adapt` on the set's own footage (trained without labels; judged by half of the people
seen by two cameras, confirmed as an operator would, and once with the label-free --check self), and as yardsticks only
OSNet-x0.25 (onnxruntime) and Intel OMZ 0287/0288 (PyPI openvino, not needed by the app).
Per-frame models give a tracklet the mean of its unit crop vectors.

Run: python bench/bench_quality.py [--sets vut_corridor_multi vtest_halves multiviewx_geo] [--work DIR] [--no-adapt]
[--crops N] [--height H] (N crops per tracklet; crops as a camera H pixels high would give them)
     [--adapt "LABEL=CKPT [KEY=VALUE ...]"]  (more adapted rows: CKPT adapted with those AdaptConfig settings)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from app.pipeline.check_footage import labelled_workspace, missing_footage
from app.pipeline.identities import create_identity
from app.pipeline.retrain import adapt_workspace
from reid_core.checkpoint import save_checkpoint
from reid_core.errors import UserError
from reid_core.model import ModelConfig, ReIDModel
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT
from training.adapt import AdaptConfig
from training.checksets import (
    at_resolution,
    checkpoint_embedder,
    people_in_several_cameras,
    score_embedder,
    thinned,
    workspace_set,
)
from training.cli import parse_overrides

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = Path(__file__).resolve().parent / "labels"
OMZ = SHARED / "teachers" / "intel_omz"

Embed = Callable[[list[np.ndarray]], np.ndarray]


def frame_mean(per_crop: Callable[[np.ndarray], np.ndarray]) -> Embed:
    def embed(crops: list[np.ndarray]) -> np.ndarray:
        vectors = np.stack([per_crop(c) for c in crops]).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        mean = vectors.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    return embed


def osnet() -> Embed:
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(SHARED / "peers" / "osnet_x0_25_msmt17.onnx"), providers=["CPUExecutionProvider"]
    )
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])

    def run(crop: np.ndarray) -> np.ndarray:
        x = ((crop / 255.0 - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
        return session.run(None, {"input": x})[0][0]

    return frame_mean(run)


def omz(name: str) -> Embed:
    import openvino as ov

    compiled = ov.Core().compile_model(str(OMZ / f"{name}.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return frame_mean(lambda crop: compiled(crop[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32))[0][0])


def imagenet_start(folder: Path) -> Path:
    torch.manual_seed(0)
    model = ReIDModel(ModelConfig(backbone="mobilenet_v2"), SHARED / "backbones" / "mobilenet_v2_imagenet_features.pt")
    return save_checkpoint(model, folder / "imagenet_start.pt", {"name": "imagenet-start", "trained": False})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=["vut_corridor_multi", "vtest_halves", "multiviewx_geo"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-quality")
    parser.add_argument("--default", type=Path, default=DEFAULT_REID_CHECKPOINT, help="the model to judge")
    parser.add_argument("--no-adapt", action="store_true", help="skip the adapted-default row")
    parser.add_argument("--crops", type=int, default=16, help="crops per tracklet, evenly spread (same for all)")
    parser.add_argument(
        "--height", type=int, help="crops shrunk to this many pixels high and back: a lower-resolution camera"
    )
    parser.add_argument("--models", nargs="*", help="only the rows whose name contains one of these words")
    parser.add_argument("--compare", nargs="*", default=[], metavar="NAME=CKPT", help="more checkpoints to score")
    parser.add_argument(
        "--adapt",
        nargs="+",
        action="append",
        default=[],
        metavar="LABEL=CKPT [KEY=VALUE]",
        help="a row for CKPT after `reid adapt` on the set's footage with these AdaptConfig settings (repeatable)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    args.work.mkdir(parents=True, exist_ok=True)
    start = imagenet_start(args.work)
    rows = []
    for name in args.sets:
        labels_file = LABELS / f"{name}.json"
        absent = missing_footage(labels_file, SHARED)
        if absent is not None:
            print(f"\n{name}: skipped: {absent} is absent")
            continue
        folder = labelled_workspace(labels_file, args.work, SHARED)
        tracklets = thinned(workspace_set(folder, labels_file), args.crops)
        if args.height is not None:
            tracklets = at_resolution(tracklets, args.height)
        models: dict[str, Callable[[], Embed]] = {
            "ImageNet start (MobileNetV2, untrained RRU+STIM)": lambda: checkpoint_embedder(start),
            "shipped default": lambda: checkpoint_embedder(args.default),
        }
        for pair in args.compare:
            label, _, path = pair.partition("=")
            models[label] = lambda path=Path(path): checkpoint_embedder(path)
        confirmed = (folder, labels_file, args.work / f"{name}_half_confirmed")  # made by the first adapt row
        if not args.no_adapt:
            for label, check in (
                ("`reid adapt`, half of the people confirmed", "confirmed"),
                ("`reid adapt --check self`", "self"),
            ):
                out = args.work / f"{name}_adapted_{check}.pt"
                config = replace(AdaptConfig(), check=check)
                models[f"default after {label}"] = lambda start=args.default, out=out, config=config, ws=confirmed: (
                    checkpoint_embedder(adapted(with_half_confirmed(*ws), start, out, config))
                )
        for number, (run, *settings) in enumerate(args.adapt):
            label, _, path = run.partition("=")
            config = replace(AdaptConfig(), **parse_overrides(settings))
            out = args.work / f"{name}_adapted_{number}.pt"
            models[label] = lambda start=Path(path), out=out, config=config, ws=confirmed: checkpoint_embedder(
                adapted(with_half_confirmed(*ws), start, out, config)
            )
        models |= {
            "OSNet-x0.25 (yardstick)": osnet,
            "OMZ person-reid-retail-0288 (yardstick)": lambda: omz("person-reidentification-retail-0288"),
            "OMZ person-reid-retail-0287 (teacher, yardstick)": lambda: omz("person-reidentification-retail-0287"),
        }
        people = len({t.person for t in tracklets})
        cameras = len({t.camera for t in tracklets})
        seen = f"≤ {args.crops} crops each" + (f", {args.height} px high" if args.height else "")
        print(f"\n{name}: {len(tracklets)} tracklets ({seen}), {people} people, {cameras} cameras")
        for label, make in models.items():
            if args.models and not any(word.lower() in label.lower() for word in args.models):
                continue
            started = time.time()
            score = score_embedder(make(), tracklets)
            rows.append((name, label, score.rank1, score.mean_ap, score.queries))
            print(f"  {label:<52} rank-1 {score.rank1:.3f}  mAP {score.mean_ap:.3f}  ({time.time() - started:.0f} s)")
    print("\n| check set | model | rank-1 | mAP | queries |\n|---|---|---|---|---|")
    for name, label, rank1, mean_ap, queries in rows:
        print(f"| {name} | {label} | {rank1:.3f} | {mean_ap:.3f} | {queries} |")


def with_half_confirmed(folder: Path, labels_file: Path, target: Path) -> Path:
    """A copy of the set's workspace where every other person seen by two cameras (sorted by label) is a
    confirmed identity, as an operator would have confirmed them: what `reid adapt`'s default check judges by."""
    if target.exists():
        return target
    tracklets = workspace_set(folder, labels_file)
    confirmed = people_in_several_cameras(tracklets)[::2]
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(folder, partial)
    with Workspace(partial, create=False) as workspace:
        for person in confirmed:
            create_identity(workspace, [t.tracklet_id for t in tracklets if t.person == person])
    partial.rename(target)
    return target


def adapted(folder: Path, default: Path, out: Path, config: AdaptConfig) -> Path:
    """The default adapted to the set's own workspace (no label trained on); the default itself if adapt refuses."""
    if out.exists():
        return out
    try:
        result = adapt_workspace(folder, config, start_from=default, device="cpu", out=out, log=lambda _: None)
    except UserError as refused:
        print(f"  adapt: not run — {refused}")
        return default
    print(f"  adapt: {'accepted' if result.outcome.accepted else 'refused'} — {result.outcome.reason}")
    return out if result.checkpoint is not None else default


if __name__ == "__main__":
    main()
