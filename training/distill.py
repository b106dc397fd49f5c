"""Distil a teacher's knowledge of people into the RRU+STIM model (the shipped default's recipe).

The student is RRU+STIM on the teacher's own feature extractor (backbone ``omz_reid_0287``),
kept frozen; the RRU and STIM learn to turn a tracklet's maps into one vector whose
similarities to other tracklets are the teacher's. Losses per batch of B clips:

- relation: mean squared difference between the student's and the teacher's B×B cosine
  similarity matrices (the ranking the app shows is made of exactly these numbers);
- cosine: 1 − cos(P f, t) with a linear map P used only in training, which pulls every
  dimension of f towards the teacher's vector t (the unit mean of its per-frame embeddings);
- gate (when ``gate_weight`` > 0): a hinge on the gap between the mean update gate on the
  person and off it, the person given by foreground masks of the static cameras
  (``training.person_masks``). The teacher's own maps carry their energy at the crop's top
  corners, so gates that only learn what the teacher uses do not look at the person.

The teacher sees clean crops; the student sees strongly augmented ones (``training.augment``),
so it learns to give the clean crop's answer under camera changes. The backbone is frozen, so
each crop's maps are computed once per view and cached: training touches only the heads.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reid_core.backbones import OmzReid0287Backbone
from reid_core.checkpoint import save_checkpoint
from reid_core.crops import decode_crops
from reid_core.model import ModelConfig, ReIDModel
from reid_core.whole_file import written_whole
from reid_core.workspace import Workspace
from training.augment import augment
from training.person_masks import workspace_masks
from training.synthetic_people import is_made_up, made_up_people
from training.teacher import Teacher

STUDENT_BACKBONE = "omz_reid_0287"


@dataclass(frozen=True)
class DistillConfig:
    """How ``reid distill`` trains. The defaults are the recipe of the shipped default model
    (``resources/reid_default.recipe.json``; a test holds them equal), so ``reid distill`` without
    ``--set`` makes what ships."""

    views: int = 3  # cached versions of each crop: the clean one and views − 1 augmented ones
    max_crops: int = 24  # crops per unit: longer tracklets are cut into several units
    min_crops: int = 4
    clip_length: int = 6
    made_up_people: int = 105  # teacher-labelled tracklets made from the real ones (``training.synthetic_people``)
    batch_size: int = 24
    iterations: int = 600
    lr: float = 3e-4
    weight_decay: float = 5e-4
    relation_weight: float = 1.0
    cosine_weight: float = 1.0
    gate_weight: float = 0.1  # > 0: pull the update gates towards person masks (``gate_loss``); 0: no masks needed
    gate_margin: float = 0.2  # wanted gap between the mean gate on the person and off it
    seed: int = 0


@dataclass
class CropCache:
    """Per tracklet: maps of every view of every kept crop, and the teacher's clean embeddings."""

    maps: list[np.ndarray] = field(default_factory=list)  # per tracklet: V × N × C × h × w float16
    teacher: list[np.ndarray] = field(default_factory=list)  # per tracklet: N × D unit vectors
    cameras: list[str] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)  # per tracklet: N × h × w person share (optional)
    reliable: list[np.ndarray] = field(default_factory=list)  # per tracklet: N bool, mask usable

    @property
    def crops(self) -> int:
        return sum(t.shape[0] for t in self.teacher)


def workspace_units(
    folders: list[Path], config: DistillConfig, cameras: set[str] | None = None
) -> list[tuple[Path, str, int, slice]]:
    """(workspace, camera label, tracklet id, crop run) of every unit: each tracklet cut into runs of
    ``max_crops`` crops. A long track gives several units (one person in several poses and places);
    a run shorter than ``min_crops`` is dropped.
    """
    units = []
    for folder in folders:
        with Workspace(folder, create=False) as workspace:
            for row in workspace.tracklets():
                if cameras is not None and row.camera not in cameras:
                    continue
                count = len(workspace.crop_frames(row.id))
                for start in range(0, count, config.max_crops):
                    run = slice(start, min(start + config.max_crops, count))
                    if run.stop - run.start >= config.min_crops:
                        units.append((folder, f"{folder.name}/{row.camera}", row.id, run))
    return units


def workspace_tracklets(
    folders: list[Path], config: DistillConfig, cameras: set[str] | None = None
) -> list[tuple[str, list[np.ndarray]]]:
    """(camera, RGB crops) units to learn from (``workspace_units``)."""
    tracklets = []
    for folder, camera, tracklet_id, run in workspace_units(folders, config, cameras):
        with Workspace(folder, create=False) as workspace:
            tracklets.append((camera, decode_crops(workspace.crops(tracklet_id)[run])))
    return tracklets


def unit_masks(
    folders: list[Path], config: DistillConfig, cameras: set[str] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per unit (the order of ``workspace_units``): person masks of its crops and which to trust.
    Made-up people (``with_made_up_people``) have none: their units follow these ones in the cache."""
    units = workspace_units(folders, config, cameras)
    found = {}
    for folder in folders:
        found[folder] = workspace_masks(folder, [tracklet for f, _, tracklet, _ in units if f == folder])
    masks = [found[folder][tracklet].masks[run].astype(np.float16) for folder, _, tracklet, run in units]
    reliable = [found[folder][tracklet].reliable[run] for folder, _, tracklet, run in units]
    return masks, reliable


def with_made_up_people(
    tracklets: list[tuple[str, list[np.ndarray]]], config: DistillConfig
) -> list[tuple[str, list[np.ndarray]]]:
    """The units to learn from followed by ``config.made_up_people`` made-up ones (seeded by ``config.seed``)."""
    if config.made_up_people <= 0:
        return tracklets
    rng = np.random.default_rng([config.seed, 5])
    return tracklets + made_up_people(tracklets, config.made_up_people, rng, min_crops=config.min_crops)


def masks_with_made_up_people(
    cache: CropCache, masks: list[np.ndarray], reliable: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Person masks for every unit of ``cache``: the filmed units take ``masks`` in order, and the
    made-up people (told by their camera label, ``is_made_up``) none to trust (a recoloured or
    joined crop's mask was never measured), so the gate loss skips them."""
    grid = masks[0].shape[1:] if masks else (1, 1)
    filmed = iter(zip(masks, reliable, strict=True))
    every_mask, every_reliable = [], []
    for camera, teacher in zip(cache.cameras, cache.teacher, strict=True):
        if is_made_up(camera):
            every_mask.append(np.zeros((teacher.shape[0], *grid), dtype=np.float16))
            every_reliable.append(np.zeros(teacher.shape[0], dtype=bool))
            continue
        mask, trusted = next(filmed, (None, None))
        if mask is None:
            raise ValueError("the cache holds more filmed units than there are masks")
        every_mask.append(mask)
        every_reliable.append(trusted)
    if next(filmed, None) is not None:
        raise ValueError("there are masks for more filmed units than the cache holds")
    return every_mask, every_reliable


def filmed_mask_share(cache: CropCache) -> tuple[int, float]:
    """How many filmed crops ``cache`` holds and the share of them whose person mask is trusted
    (made-up people have none, so they are not counted)."""
    filmed = [r for r, camera in zip(cache.reliable, cache.cameras, strict=True) if not is_made_up(camera)]
    usable = np.concatenate(filmed) if filmed else np.zeros(0, dtype=bool)
    return len(usable), float(usable.mean()) if len(usable) else 0.0


def build_cache(
    tracklets: list[tuple[str, list[np.ndarray]]],
    teacher: Teacher,
    config: DistillConfig,
    progress: Callable[[int, int], None] | None = None,
) -> CropCache:
    rng = np.random.default_rng([config.seed, 1])
    cache = CropCache()
    for index, (camera, crops) in enumerate(tracklets):
        maps, embeddings = teacher(crops)
        views = [pool(maps)]
        for _ in range(config.views - 1):
            views.append(pool(teacher([augment(c, rng) for c in crops])[0]))
        cache.maps.append(np.stack(views))
        cache.teacher.append(embeddings)
        cache.cameras.append(camera)
        if progress is not None:
            progress(index + 1, len(tracklets))
    return cache


def pool(maps: np.ndarray) -> np.ndarray:
    """The teacher's cut-layer maps as the student's backbone gives them (its 2×2 pooling)."""
    return OmzReid0287Backbone.pool(torch.from_numpy(maps.astype(np.float32))).numpy().astype(np.float16)


def _save_whole(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` written whole (``written_whole``): an interrupted or failed write never leaves half a
    cache, which the next run would read."""
    with written_whole(path) as partial, open(partial, "wb") as handle:
        np.savez(handle, **arrays)


def save_cache(cache: CropCache, path: Path) -> None:
    """Plain arrays (no pickle): the maps and teacher vectors of all units, with each unit's length."""
    _save_whole(
        path,
        maps=np.concatenate([m.transpose(1, 0, 2, 3, 4) for m in cache.maps]),
        teacher=np.concatenate(cache.teacher),
        lengths=np.array([t.shape[0] for t in cache.teacher]),
        cameras=np.array(cache.cameras),
    )


def load_cache(path: Path) -> CropCache:
    data = np.load(path, allow_pickle=False)
    bounds = np.concatenate([[0], np.cumsum(data["lengths"])])
    maps, teacher = data["maps"], data["teacher"]
    cache = CropCache(cameras=[str(c) for c in data["cameras"]])
    for start, end in itertools.pairwise(bounds):
        cache.maps.append(np.ascontiguousarray(maps[start:end].transpose(1, 0, 2, 3, 4)))
        cache.teacher.append(teacher[start:end])
    return cache


def save_masks(cache: CropCache, path: Path) -> None:
    _save_whole(
        path,
        masks=np.concatenate(cache.masks),
        reliable=np.concatenate(cache.reliable),
        lengths=np.array([m.shape[0] for m in cache.masks]),
    )


def load_masks(cache: CropCache, path: Path) -> CropCache:
    """The cache with the person masks saved by ``save_masks``; they must be of the same units."""
    data = np.load(path, allow_pickle=False)
    lengths = [t.shape[0] for t in cache.teacher]
    if data["lengths"].tolist() != lengths:
        raise ValueError(f"{path}: person masks of other units than the teacher cache's")
    bounds = np.cumsum(lengths)[:-1]
    return replace(cache, masks=np.split(data["masks"], bounds), reliable=np.split(data["reliable"], bounds))


def gate_loss(
    gates: torch.Tensor, masks: torch.Tensor, weights: torch.Tensor, margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hinge on the gap between the mean gate on the person and off it, per weighted frame.

    gates: B×T×h×w (channel mean of Z), masks: B×T×h×w person share per cell, weights: B×T
    (0 where the mask is not usable). Returns (loss, mean gap over the weighted frames).
    """
    on = (gates * masks).sum(dim=(2, 3)) / masks.sum(dim=(2, 3)).clamp_min(1e-6)
    off = (gates * (1 - masks)).sum(dim=(2, 3)) / (1 - masks).sum(dim=(2, 3)).clamp_min(1e-6)
    gap = on - off
    total = weights.sum().clamp_min(1.0)
    return (weights * F.relu(margin - gap)).sum() / total, (weights * gap).sum().detach() / total


def relation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the off-diagonal cosine similarities (B×D inputs)."""
    s = F.normalize(student, dim=1)
    t = F.normalize(teacher, dim=1)
    off = ~torch.eye(s.shape[0], dtype=torch.bool, device=s.device)
    return F.mse_loss((s @ s.T)[off], (t @ t.T)[off])


@dataclass
class Batch:
    clips: torch.Tensor  # B×T×C×h×w maps, a random view per frame
    targets: torch.Tensor  # B×D teacher vectors
    masks: torch.Tensor | None  # B×T×h×w person masks (None when the cache has none)
    mask_weights: torch.Tensor | None  # B×T: 1 where the frame is the clean view and its mask usable


def sample_batch(cache: CropCache, ids: np.ndarray, config: DistillConfig, rng: np.random.Generator) -> Batch:
    """B clips and their teacher vectors (and person masks where the cache has them).

    A mask is only true of the clean view (view 0): the augmented views were cropped and flipped
    when cached, so their frames get no mask weight.
    """
    chosen = rng.choice(ids, size=min(config.batch_size, len(ids)), replace=False)
    clips, targets, masks, weights = [], [], [], []
    for i in chosen:
        maps, teacher = cache.maps[i], cache.teacher[i]
        count = teacher.shape[0]
        length = min(config.clip_length, count)
        start = int(rng.integers(0, count - length + 1))
        frames = np.arange(start, start + length)
        if length < config.clip_length:  # short tracklet: repeat its frames to fill the clip
            frames = np.resize(frames, config.clip_length)
        views = rng.integers(0, maps.shape[0], size=len(frames))
        clips.append(maps[views, frames].astype(np.float32))
        target = teacher[frames].mean(axis=0)
        targets.append(target / max(float(np.linalg.norm(target)), 1e-12))
        if cache.masks:
            masks.append(cache.masks[i][frames].astype(np.float32))
            weights.append(((views == 0) & cache.reliable[i][frames]).astype(np.float32))
    return Batch(
        torch.from_numpy(np.stack(clips)),
        torch.from_numpy(np.stack(targets)),
        torch.from_numpy(np.stack(masks)) if masks else None,
        torch.from_numpy(np.stack(weights)) if weights else None,
    )


@dataclass
class DistillResult:
    checkpoint: Path
    history: list[dict]
    start_relation: float  # on held-out tracklets, before training
    held_out_relation: float  # the same, after
    seconds: float


def distill(
    teacher: Teacher,
    cache: CropCache,
    out: Path,
    config: DistillConfig,
    provenance: dict[str, object],
    log: Callable[[str], None] = print,
) -> DistillResult:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng([config.seed, 2])
    started = time.time()
    model = ReIDModel(ModelConfig(backbone=STUDENT_BACKBONE, rru=True, temporal="stim"), backbone_weights=teacher.xml)
    model.backbone.requires_grad_(False)
    projection = nn.Linear(model.feature_dim, cache.teacher[0].shape[1])
    heads = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    optimiser = torch.optim.AdamW([*heads, *projection.parameters()], lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, config.iterations) / config.iterations))
    )
    order = np.random.default_rng([config.seed, 3]).permutation(len(cache.teacher))
    held = order[: max(8, len(order) // 10)]
    train = order[len(held) :]
    history: list[dict] = []
    start_relation = held_out_relation(model, cache, held, config)
    log(f"held-out tracklets ({len(held)}) before training: relation {start_relation:.4f}")
    model.train()
    for step in range(1, config.iterations + 1):
        batch = sample_batch(cache, train, config, rng)
        refined, gates = model.rru(batch.clips)
        f = model.temporal(refined)
        relation = relation_loss(f, batch.targets)
        cosine = 1 - F.cosine_similarity(projection(f), batch.targets, dim=1).mean()
        loss = config.relation_weight * relation + config.cosine_weight * cosine
        gate = gap = torch.zeros(())
        if config.gate_weight > 0 and batch.masks is not None:
            gate, gap = gate_loss(gates.mean(dim=2), batch.masks, batch.mask_weights, config.gate_margin)
            loss = loss + config.gate_weight * gate
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 50 == 0 or step == config.iterations:
            entry = {
                "step": step,
                "relation": relation.item(),
                "cosine": cosine.item(),
                "gate": gate.item(),
                "gate_gap": gap.item(),
                "seconds": time.time() - started,
            }
            history.append(entry)
            log(
                f"step {step}/{config.iterations}: relation {entry['relation']:.4f} cosine {entry['cosine']:.4f} "
                f"gate {entry['gate']:.4f} (person − background gate {entry['gate_gap']:+.3f})"
            )
    held_relation = held_out_relation(model, cache, held, config)
    log(f"held-out tracklets ({len(held)}) after training: relation {held_relation:.4f}")
    seconds = time.time() - started
    gates_pulled = config.gate_weight > 0 and bool(cache.masks)  # without masks the gate loss never ran
    recipe = {
        **teacher.record,
        **provenance,
        "method": "distillation: relation + projected cosine to the teacher's tracklet vectors; frozen backbone"
        + ("; update gates pulled to person masks (background subtraction)" if gates_pulled else ""),
        "config": asdict(config),
        "tracklets": len(cache.teacher),
        "crops": cache.crops,
        "held_out_relation": {"start": start_relation, "end": held_relation},
        "training_seconds": round(seconds, 1),
    }
    meta = {
        "name": f"rru-stim-{STUDENT_BACKBONE}-distilled",
        "trained": True,
        "description": f"RRU+STIM on the {teacher.xml.stem} feature extractor, distilled from that teacher",
        "recipe": recipe,
    }
    save_checkpoint(model, out, meta)
    out.with_suffix(".recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    return DistillResult(out, history, start_relation, held_relation, seconds)


def held_out_relation(model: ReIDModel, cache: CropCache, held: np.ndarray, config: DistillConfig) -> float:
    """The relation loss on tracklets never trained on (one fixed clip each, seeded)."""
    model.eval()
    with torch.no_grad():
        rng = np.random.default_rng([config.seed, 4])
        batch = sample_batch(cache, held, replace(config, batch_size=len(held)), rng)
        relation = float(relation_loss(model.temporal(model.rru(batch.clips)[0]), batch.targets))
    model.train()
    return relation
