"""Does `reid adapt`'s check follow the real cross-camera mAP? Every epoch of many adapt runs, both checks.

For each labelled check set (bench/labels), the default model is adapted to the set's own workspace
(no label used in training) with several seeds and settings; after every epoch the model is scored
by the real labelled cross-camera mAP (16 crops per tracklet, as bench_quality) and:
1. the label-free self-check (``--check self``): its rank correlation with the real mAP change, and
   what adapt's own rule with it (best epoch, refused below the start by more than 0.01) ends at;
2. the confirmed-matches check (the default): an operator who confirmed half of the people seen by
   two cameras (random halves, ``--splits`` of them) judges, through adapt's own rule
   (``training.adapt.refusal``; the best-scoring epoch that may be kept is kept) on the confirmed
   tracklets' cross-camera mAP (every labelled tracklet in the gallery), with looser variants of
   the rule beside it (``RULES``). The real mAP change is printed over all labelled tracklets and
   over the people not confirmed, the ones the operator has still to find.
3. with ``--label-free OMZ.xml``, other label-free criteria a check could use, each computed on the
   labelled tracklets without their labels: agreement with a teacher's similarities, the share of
   mutual nearest neighbours across cameras, the top-1 margin; their rank correlation with the real
   mAP change and what "keep the best epoch that raised it by 0.01" ends at.
The runs adapt with ``check=self`` (a quarter of the tracks held out, as adapt does with either check)
and record every epoch, so every rule is applied to the same models.
Run: python bench/bench_adapt_check.py [--sets vtest_halves multiviewx_geo] [--seeds 4] [--splits 20] [--runs DIR]
    [--teacher OMZ.xml] [--label-free OMZ.xml]
(--runs DIR: the adapt runs are saved there, and read from there by a later run to try other rules).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from app.pipeline.check_footage import labelled_workspace
from app.pipeline.embed import decode_crops
from reid_core.checkpoint import load_model
from reid_core.embedder import preprocess
from reid_core.hashing import sha256_file
from reid_core.model import ReIDModel
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT
from training.adapt import AdaptConfig, EpochScore, adapt, refusal, tracklet_maps, tracklet_vector
from training.checksets import (
    LabelledTracklet,
    cross_camera_score,
    people_in_several_cameras,
    thinned,
    workspace_set,
)
from training.teacher import Teacher

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETTINGS = ["{}", '{"contrast_weight": 0}', '{"lr": 0.001}']
ANY = {"max_worse_share": 1.0, "max_chance": 1.0}  # however many confirmed matches it ranks worse
NO_SELF_CHECK = ANY | {"tolerance": 1.0}  # and whatever its self-check
RULES = {  # AdaptConfig overrides of adapt's rule (the last: the rule as shipped)
    "not worse by 0.01 (min_gain -0.01)": NO_SELF_CHECK | {"min_gain": -0.01},
    "min_gain +0.01": NO_SELF_CHECK | {"min_gain": 0.01},
    "min_gain +0.01 and self-check (session 8)": ANY | {"min_gain": 0.01},
    "min_gain +0.01, self-check and no confirmed match ranked worse": {
        "min_gain": 0.01,
        "max_worse_share": 0.0,
        "max_chance": 1.0,
    },
    "min_gain +0.03, self-check and at most a tenth of the confirmed matches ranked worse (sessions 9-10)": {
        "max_chance": 1.0
    },
    "the same and more of them ranked better than worse beyond chance (sign test, 5 %; adapt's rule)": {},
}


def saved_runs(path: Path, made_by: dict[str, str] | None = None) -> dict:
    """What ``save_runs`` wrote: the runs without their labelled crops (cameras and people suffice to score).
    ``made_by``: the start model and anchor these runs must have been made with (a clear stop if not)."""
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        for key, wanted in (made_by or {}).items():
            if key in meta and meta[key] != wanted:  # files of earlier versions do not say
                raise SystemExit(f"error: {path}: made with {key} {meta[key]!r}, not {wanted!r}: use another --runs")
        labelled = [LabelledTracklet(c, p, []) for c, p in zip(meta["cameras"], meta["people"], strict=True)]
        runs = [
            {"setting": setting, "seed": seed, "checks": list(checks), "vectors": list(vectors), "real": list(real)}
            for (setting, seed), checks, vectors, real in zip(
                meta["runs"], data["checks"], data["vectors"], data["real"], strict=True
            )
        ]
    return {"runs": runs, "labelled": labelled}


def save_runs(data: dict, path: Path, made_by: dict[str, str] | None = None) -> None:
    meta = (made_by or {}) | {
        "cameras": [t.camera for t in data["labelled"]],
        "people": [t.person for t in data["labelled"]],
        "runs": [(run["setting"], run["seed"]) for run in data["runs"]],
    }
    np.savez_compressed(
        path,
        meta=json.dumps(meta),
        checks=np.array([run["checks"] for run in data["runs"]]),
        vectors=np.array([run["vectors"] for run in data["runs"]]),
        real=np.array([run["real"] for run in data["runs"]]),
    )


def epoch_runs(
    name: str, model: ReIDModel, work: Path, seeds: int, settings: list[str], teacher: Path | None = None
) -> dict:
    """Per adapt run, per epoch (0 = start): the self-check and the labelled tracklets' vectors.
    ``teacher``: an OMZ IR every run anchors to (``reid adapt --teacher``) instead of the start model."""
    labels = ROOT / "bench" / "labels" / f"{name}.json"
    folder = labelled_workspace(labels, work, SHARED)
    with Workspace(folder, create=False) as workspace:
        rows = [r for r in workspace.tracklets() if r.length >= 2]
        tracklets = [
            (r.camera, r.video_id, (r.start_time, r.end_time), decode_crops(workspace.crops(r.id))) for r in rows
        ]
    tracklets = [t for t in tracklets if len(t[3]) >= 2]
    maps = tracklet_maps(model, tracklets, AdaptConfig())
    anchors = Teacher(teacher).tracklet_vectors([t[3] for t in tracklets]) if teacher is not None else None
    labelled = thinned(workspace_set(folder, labels), 16)
    with torch.inference_mode():
        label_maps = [model.backbone.features(preprocess(t.crops, model.spec)) for t in labelled]
    runs = []
    for setting in settings:
        for seed in range(seeds):
            config = replace(AdaptConfig(), **{"check": "self", "seed": seed} | json.loads(setting))
            epochs: list[np.ndarray] = []

            def keep(_: int, adapted: ReIDModel, epochs: list = epochs) -> None:
                with torch.inference_mode():
                    epochs.append(torch.stack([tracklet_vector(adapted, m) for m in label_maps]).numpy())

            started = time.time()
            outcome = adapt(model, maps, config, anchors=anchors, log=lambda _: None, on_epoch=keep)
            checks = [outcome.start_score] + [e["check"] for e in outcome.history]
            real = [cross_camera_score(vectors, labelled).mean_ap for vectors in epochs]
            runs.append({"setting": setting, "seed": seed, "checks": checks, "vectors": epochs, "real": real})
            print(f"  {name} {setting} seed {seed}: {time.time() - started:.0f} s", flush=True)
    return {"runs": runs, "labelled": labelled}


def teacher_agreement(vectors: np.ndarray, cameras: np.ndarray, teacher: np.ndarray) -> float:
    """Mean over tracklets of the rank correlation between the model's and the teacher's similarities
    to every tracklet of the other cameras: how closely the model orders candidates as the teacher does."""
    other = cameras[:, None] != cameras[None, :]
    ours, theirs = vectors @ vectors.T, teacher @ teacher.T
    return float(np.mean([spearmanr(ours[i, other[i]], theirs[i, other[i]]).statistic for i in range(len(vectors))]))


def across_cameras(vectors: np.ndarray, cameras: np.ndarray) -> np.ndarray:
    """Cosine similarities between tracklets, −inf within a camera (never a candidate there)."""
    return np.where(cameras[:, None] != cameras[None, :], vectors @ vectors.T, -np.inf)


def mutual_share(vectors: np.ndarray, cameras: np.ndarray, _teacher: np.ndarray) -> float:
    """Share of tracklets whose nearest tracklet of another camera has them as its nearest too."""
    nearest = across_cameras(vectors, cameras).argmax(axis=1)
    return float(np.mean(nearest[nearest] == np.arange(len(vectors))))


def top_margin(vectors: np.ndarray, cameras: np.ndarray, _teacher: np.ndarray) -> float:
    """Mean gap between each tracklet's most and second most similar tracklet of another camera."""
    top = -np.sort(-across_cameras(vectors, cameras), axis=1)[:, :2]
    return float(np.mean(top[:, 0] - top[:, 1]))


LABEL_FREE = {
    "agreement with the teacher's similarities": teacher_agreement,
    "mutual nearest neighbours across cameras": mutual_share,
    "top-1 minus top-2 similarity across cameras": top_margin,
}


def labelled_teacher_vectors(name: str, work: Path, xml: Path, data: dict) -> np.ndarray:
    """The teacher's unit vector of each labelled tracklet (mean over the same 16 crops the runs were scored on)."""
    labels = ROOT / "bench" / "labels" / f"{name}.json"
    labelled = thinned(workspace_set(labelled_workspace(labels, work, SHARED), labels), 16)
    if [(t.camera, t.person) for t in labelled] != [(t.camera, t.person) for t in data["labelled"]]:
        raise SystemExit(f"error: {work / name}: its labelled tracklets are not the ones these runs were scored on")
    return Teacher(xml).tracklet_vectors([t.crops for t in labelled]).numpy()


def label_free_report(data: dict, teacher: np.ndarray) -> None:
    cameras = np.array([t.camera for t in data["labelled"]])
    for criterion, measure in LABEL_FREE.items():
        change, real_change, chosen = [], [], []
        for run in data["runs"]:
            values, real = [measure(np.asarray(v), cameras, teacher) for v in run["vectors"]], run["real"]
            change += [v - values[0] for v in values[1:]]
            real_change += [r - real[0] for r in real[1:]]
            raised = [e for e in range(1, len(values)) if values[e] >= values[0] + 0.01]
            chosen.append(real[max(raised, key=lambda e: values[e])] - real[0] if raised else None)
        kept = [c for c in chosen if c is not None]
        outcome = (
            f"kept {len(kept)} of {len(chosen)} runs: real change mean {np.mean(kept):+.3f}, min {min(kept):+.3f} "
            f"({sum(k < -0.01 for k in kept)} more than 0.01 below)"
            if kept
            else f"kept none of {len(chosen)} runs"
        )
        print(
            f"  label-free, {criterion}: rank correlation of its change with the real change "
            f"{spearmanr(change, real_change).statistic:+.2f}; keeping the best epoch that raised it by 0.01 {outcome}"
        )


def kept_epoch(scored: list[EpochScore], config: AdaptConfig) -> int:
    """The epoch adapt keeps under ``config`` (0: none, the start model stays): the best-scoring one
    that ``training.adapt.refusal`` lets through, as adapt picks it."""
    may = [e for e in range(1, len(scored)) if refusal(scored[0], scored[e], e, config, "") is None]
    return max(may, key=lambda e: scored[e].score) if may else 0


def self_check_report(data: dict) -> None:
    check_change, real_change, chosen, kept = [], [], [], 0
    label_free = replace(AdaptConfig(), check="self")
    for run in data["runs"]:
        real, checks = run["real"], run["checks"]
        check_change += [c - checks[0] for c in checks[1:]]
        real_change += [r - real[0] for r in real[1:]]
        pick = kept_epoch([EpochScore(c, c) for c in checks], label_free)
        kept += pick > 0
        chosen.append(real[pick] - real[0])
    rho = spearmanr(check_change, real_change).statistic
    print(
        f"  label-free self-check: {len(real_change)} adapted epochs, real mAP change mean {np.mean(real_change):+.3f} "
        f"(min {min(real_change):+.3f}, max {max(real_change):+.3f}); rank correlation with the self-check's change "
        f"{rho:+.2f}; adapt's rule kept {kept} of {len(chosen)} runs: real change mean "
        f"{np.mean(chosen):+.3f}, min {min(chosen):+.3f}"
    )


def confirmed_half_report(data: dict, splits: int) -> None:
    labelled = data["labelled"]
    rng = np.random.default_rng(0)
    seen_twice = people_in_several_cameras(labelled)
    halves = [set(rng.permutation(seen_twice)[: len(seen_twice) // 2].tolist()) for _ in range(splits)]
    cases = []  # per half and run, scored once for every rule: each epoch on the check, real and unconfirmed mAP
    for confirmed in halves:
        judges = [t.person in confirmed for t in labelled]
        rest = [not judge for judge in judges]
        for run in data["runs"]:
            judged = [cross_camera_score(vectors, labelled, judges) for vectors in run["vectors"]]
            scored = [EpochScore(j.mean_ap, c, j.query_aps) for j, c in zip(judged, run["checks"], strict=True)]
            unconfirmed = [cross_camera_score(vectors, labelled, rest).mean_ap for vectors in run["vectors"]]
            cases.append((scored, run["real"], unconfirmed))
    for rule, overrides in RULES.items():
        config = replace(AdaptConfig(), **overrides)
        overall, others, kept = [], [], 0
        for scored, real, unconfirmed in cases:
            pick = kept_epoch(scored, config)
            kept += pick > 0
            overall.append(real[pick] - real[0])
            others.append(unconfirmed[pick] - unconfirmed[0])
        print(
            f"  confirmed half judges, {rule}: kept {kept} of {len(overall)}; real mAP change "
            f"all people mean {np.mean(overall):+.3f} min {min(overall):+.3f} ({sum(o < -0.01 for o in overall)} "
            f"more than 0.01 below); unconfirmed people mean {np.mean(others):+.3f} min {min(others):+.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=["vtest_halves", "multiviewx_geo"])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--settings", nargs="*", default=SETTINGS, help="AdaptConfig overrides as JSON, one per run")
    parser.add_argument("--splits", type=int, default=20, help="random halves of the people confirmed")
    parser.add_argument("--default", type=Path, default=DEFAULT_REID_CHECKPOINT)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-quality")
    parser.add_argument("--runs", type=Path, help="folder for the adapt runs: reused when there, saved when not")
    parser.add_argument("--teacher", type=Path, help="OMZ re-ID IR (.xml) every run anchors to")
    parser.add_argument("--label-free", type=Path, metavar="OMZ_XML", help="score label-free checks too (teacher IR)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load_model(args.default).eval()
    made_by = {"start model": sha256_file(args.default), "teacher": str(args.teacher or "")}
    for name in args.sets:
        print(f"{name}:", flush=True)
        saved = args.runs / f"{name}.npz" if args.runs else None
        if saved is not None and saved.exists():
            data = saved_runs(saved, made_by)
        else:
            data = epoch_runs(name, model, args.work, args.seeds, args.settings, args.teacher)
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                save_runs(data, saved, made_by)
        self_check_report(data)
        if args.label_free is not None:
            label_free_report(data, labelled_teacher_vectors(name, args.work, args.label_free, data))
        confirmed_half_report(data, args.splits)


if __name__ == "__main__":
    main()
