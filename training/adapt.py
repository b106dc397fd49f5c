"""Adaptation to a case's own footage without labels, which checks itself and never activates a worse model.

What it learns from (all sure or cheap to verify, nothing labelled):
- a track is one person: two clips of one tracklet are positives;
- cross-camera pseudo-positives: tracklets of different cameras that are each other's nearest
  neighbour under the start model and similar enough (camera-aware mutual nearest neighbours);
- one camera cannot show one person twice at once: same-video tracklets overlapping in time are
  never made positives;
- the start model as anchor: each clip's vector stays close to the start model's vector and
  the batch's similarity structure to the start model's (the teacher's, when it is given).
The RRU and STIM adapt (the backbone stays as it is, so the maps are computed once).

What may stay (``adapt_gates=False``, ``keep_norm_statistics=True``, opt-in): the RRU's update
gates as the start model learned them, and every BatchNorm layer's statistics. Measured on
vtest_halves (README, *Re-ID quality*): from the gate-trained candidate model, letting the RRU learn
and the case's small augmented batches replace the BatchNorm statistics moved the gates off the
person (centre/border gate 2.66 → 2.20) and real mAP by −0.016, keeping both moved it +0.016 (16 crops
per tracklet; −0.018 on 8); from the shipped default, keeping both moved mAP by −0.031 where the
default settings move it by −0.004. So the default stays the full adapt.

The check (``check``): the start model is scored first and after every epoch; the best-scoring
epoch that meets every condition (``refusal``) is kept, and when none does nothing is.
- ``"confirmed"`` (the default): the cross-camera mAP of the case's own confirmed matches (the
  operator's identities; adaptation never trains on them, it only is judged by them; every other
  tracklet stays in the gallery as a distractor). An epoch may be kept only if it ranks them better
  than the start model by ``min_gain`` (mAP), ranks at most a tenth of them worse
  (``max_worse_share``; a lower AP counts as worse), ranks so many more of them better than worse
  that a model which only reshuffled them would do so at most ``max_chance`` of the time (one-sided
  sign test, 5 %: ``chance_of``), and its label-free self-check (below) is not below the start's by
  more than ``tolerance``. The sign test needs at least five confirmed matches to pass at all (four
  all better happen by chance one time in 16), so ``min_confirmed_queries`` is 5.
  Measured with half of each labelled set's people confirmed (``bench/bench_adapt_check.py``, three
  start models): a model merely not worse on the confirmed matches was often worse on the other
  people; gain, worse share and self-check without the sign test kept every run within 0.01 from the
  session-8 and session-9 defaults, but from the session-10 default it kept runs up to 0.021 below,
  each where a gain on one or two people's matches stood for a fall on the people not confirmed;
  with the sign test none is kept more than 0.01 below from any of the three (README, *Re-ID
  quality*: the rule was chosen on these development sets).
- ``"self"``: label-free. A quarter of the tracklets (never trained on) are split in halves; the
  first half, strongly augmented (colour, blur, resolution, occluders: what another camera
  changes), queries the clean second halves of all of them. It catches a wrecked model, but it
  does not follow real cross-camera mAP: over 36 adapted epochs on each labelled check set
  (``bench/bench_adapt_check.py``), its rank correlation with the real mAP change was +0.15 and
  −0.04, and adaptation lowered mAP on average. So it must be asked for.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from reid_core.embedder import preprocess
from reid_core.model import ReIDModel
from training.augment import augment
from training.distill import relation_loss
from training.evaluation import average_precision

if TYPE_CHECKING:
    from training.checksets import CheckScore

CHECKS = ("confirmed", "self")


@dataclass(frozen=True)
class AdaptConfig:
    epochs: int = 4
    iterations_per_epoch: int = 25
    batch_size: int = 16  # tracklets per batch, two clips each
    clip_length: int = 4
    crops_per_tracklet: int = 8
    lr: float = 3e-4
    anchor_weight: float = 1.0
    adapt_gates: bool = True  # False: the RRU (its update gates) stays the start model's; see "What may stay"
    keep_norm_statistics: bool = False  # True: BatchNorm layers keep the start model's statistics
    contrast_weight: float = 1.0
    temperature: float = 0.1
    pseudo_threshold: float = 0.6  # cosine a cross-camera mutual nearest pair needs
    held_out: float = 0.25
    tolerance: float = 0.01  # check-score drop (mAP) that makes a model "worse"
    check: str = "confirmed"  # confirmed: the operator's confirmed matches judge; self: label-free (see above)
    min_confirmed_queries: int = 5  # confirmed tracklets with a match in another camera the check needs (at least
    # as many as the sign test needs to pass at all: ``confirmed_needed``; see the module docstring)
    min_gain: float = 0.03  # with the confirmed check, a model must rank them better than the start by this (mAP)
    max_worse_share: float = 0.1  # ... and may rank at most this share of them (rounded down) worse than the start
    max_chance: float = 0.05  # ... and so many more better than worse that chance would give it at most this often
    seed: int = 0

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"check={self.check}: not a check (known: {', '.join(CHECKS)})")
        if not 0.0 < self.max_chance <= 1.0:
            raise ValueError(f"max_chance={self.max_chance}: must be above 0 and at most 1")


@dataclass
class TrackletMaps:
    camera: str
    video: int
    span: tuple[float, float]  # start, end time
    views: torch.Tensor  # 2 × N × C × h × w: clean, augmented


@dataclass
class EpochScore:
    """One model on the check: the score that picks the epoch, the held-out self-check, and with the
    confirmed check each confirmed match's AP (query order fixed by the workspace)."""

    score: float
    own: float
    query_aps: np.ndarray | None = None

    def moved_from(self, start: EpochScore) -> tuple[int, int]:
        """How many confirmed matches this model ranks better and how many worse (higher or lower
        AP, beyond float noise) than ``start`` did; (0, 0) without the confirmed check."""
        if self.query_aps is None or start.query_aps is None:
            return 0, 0
        better = int(np.sum(self.query_aps > start.query_aps + 1e-9))
        return better, int(np.sum(self.query_aps < start.query_aps - 1e-9))


def chance_of(better: int, worse: int) -> float:
    """How often a model that only reshuffled the matches it moved would rank at least ``better`` of
    the ``better + worse`` better (one-sided sign test; 1.0 when none moved)."""
    moved = better + worse
    return sum(math.comb(moved, k) for k in range(better, moved + 1)) / 2**moved


@dataclass
class AdaptOutcome:
    model: ReIDModel | None  # the best epoch's model; None when refused
    accepted: bool
    start_score: float
    best_score: float
    best_epoch: int
    reason: str
    history: list[dict] = field(default_factory=list)
    pseudo_pairs: int = 0
    tracklets: int = 0
    seconds: float = 0.0
    check: str = "self-check"  # what judged it, in words

    def kept_epoch_moves(self) -> dict[str, int]:
        """How many confirmed matches the kept epoch ranked better and worse than the start model
        (empty when nothing was kept or the confirmed check did not judge), for the model's record."""
        kept = next((e for e in self.history if e["epoch"] == self.best_epoch), None)
        if not self.accepted or kept is None or kept["better_matches"] + kept["worse_matches"] == 0:
            return {}
        return {"matches_better": kept["better_matches"], "matches_worse": kept["worse_matches"]}


def tracklet_maps(
    model: ReIDModel,
    tracklets: list[tuple[str, int, tuple[float, float], list[np.ndarray]]],
    config: AdaptConfig,
    progress: Callable[[int, int], None] | None = None,
) -> list[TrackletMaps]:
    """Backbone maps of each tracklet's crops (evenly thinned), clean and augmented."""
    rng = np.random.default_rng([config.seed, 11])
    out = []
    model.eval()
    with torch.inference_mode():
        for index, (camera, video, span, crops) in enumerate(tracklets):
            keep = np.linspace(0, len(crops) - 1, min(len(crops), config.crops_per_tracklet)).round().astype(int)
            clean = [crops[i] for i in keep]
            frames = preprocess(clean + [augment(c, rng) for c in clean], model.spec)
            maps = model.backbone.features(frames)
            out.append(TrackletMaps(camera, video, span, maps.view(2, len(clean), *maps.shape[1:]).clone()))
            if progress is not None:
                progress(index + 1, len(tracklets))
    return out


def tracklet_vector(model: ReIDModel, maps: torch.Tensor) -> torch.Tensor:
    """f of one tracklet from its maps (T × C × h × w), unit length."""
    return F.normalize(model.temporal(model.rru(maps.unsqueeze(0))[0] if model.rru else maps.unsqueeze(0))[0], dim=0)


def self_check(model: ReIDModel, held: list[TrackletMaps]) -> float:
    """mAP of augmented first halves against clean second halves (one true match each)."""
    model.eval()
    with torch.inference_mode():
        queries = torch.stack([tracklet_vector(model, t.views[1, : max(1, t.views.shape[1] // 2)]) for t in held])
        gallery = torch.stack([tracklet_vector(model, t.views[0, t.views.shape[1] // 2 :]) for t in held])
    similarity = (queries @ gallery.T).numpy()
    aps = [average_precision(np.argsort(-row, kind="stable") == i) for i, row in enumerate(similarity)]
    return float(np.mean(aps))


def confirmed_queries(cameras: list[str], people: dict[int, int]) -> int:
    """How many confirmed tracklets (index → identity) have a confirmed match in another camera."""
    seen: dict[int, set[str]] = {}
    for index, person in people.items():
        seen.setdefault(person, set()).add(cameras[index])
    return sum(len(seen[person]) > 1 for person in people.values())


def confirmed_shortfall(cameras: list[str], people: dict[int, int], config: AdaptConfig) -> str | None:
    """What the confirmed-matches check lacks to judge (None: enough, or another check was chosen)."""
    found, needed = confirmed_queries(cameras, people), confirmed_needed(config)
    if config.check != "confirmed" or found >= needed:
        return None
    return f"{found} tracklets have a confirmed match in another camera ({needed} needed)"


def confirmed_needed(config: AdaptConfig) -> int:
    """The confirmed matches the check needs: ``min_confirmed_queries``, or more when fewer could never
    pass the sign test at ``max_chance`` even all ranked better (a run would train only to be refused)."""
    least = 1
    while chance_of(least, 0) > config.max_chance:
        least += 1
    return max(config.min_confirmed_queries, least)


def confirmed_check(maps: list[TrackletMaps], people: dict[int, int]) -> Callable[[ReIDModel], CheckScore]:
    """The operator's confirmed matches as the check: the cross-camera mAP of each confirmed tracklet
    against every tracklet of the other cameras (the unconfirmed ones as distractors), on clean crops."""
    from training.checksets import LabelledTracklet, cross_camera_score

    unconfirmed = -2 - np.arange(len(maps))  # a person of its own each: never a match (-1 is junk)
    labelled = [LabelledTracklet(t.camera, people.get(i, int(unconfirmed[i])), []) for i, t in enumerate(maps)]

    def score(model: ReIDModel) -> CheckScore:
        model.eval()
        with torch.inference_mode():
            vectors = torch.stack([tracklet_vector(model, t.views[0]) for t in maps]).numpy()
        return cross_camera_score(vectors, labelled)

    return score


def pseudo_positives(vectors: torch.Tensor, maps: list[TrackletMaps], threshold: float) -> list[tuple[int, int]]:
    """Cross-camera mutual nearest neighbours above ``threshold`` (indices into ``maps``)."""
    cameras = np.array([t.camera for t in maps])
    similarity = (vectors @ vectors.T).numpy()
    similarity[cameras[:, None] == cameras[None, :]] = -np.inf  # only other cameras
    best = similarity.argmax(axis=1)
    return [(i, int(j)) for i, j in enumerate(best) if i < j and best[j] == i and similarity[i, j] >= threshold]


def overlapping(a: TrackletMaps, b: TrackletMaps) -> bool:
    """Same video and overlapping in time: surely two different people."""
    return a.video == b.video and a.span[0] <= b.span[1] and b.span[0] <= a.span[1]


def _clip(views: torch.Tensor, length: int, rng: np.random.Generator) -> torch.Tensor:
    count = views.shape[1]
    start = int(rng.integers(0, max(1, count - length + 1)))
    frames = np.resize(np.arange(start, min(count, start + length)), length)
    return views[rng.integers(0, 2, size=length), frames]


def adapt(
    model: ReIDModel,
    maps: list[TrackletMaps],
    config: AdaptConfig,
    anchors: torch.Tensor | None = None,
    log: Callable[[str], None] = print,
    progress: Callable[[dict], None] | None = None,
    people: dict[int, int] | None = None,
    on_epoch: Callable[[int, ReIDModel], None] | None = None,
) -> AdaptOutcome:
    """Adapt ``model`` (a copy is trained) to the tracklets in ``maps``; see the module docstring.

    ``anchors``: per tracklet, a teacher's unit vector to anchor to instead of the start model's.
    ``people``: the operator's confirmed identities (index into ``maps`` → identity), which the
    ``"confirmed"`` check scores; adaptation itself never reads them.
    ``on_epoch``: called with the epoch (0: the start model) and the model as it is then (benchmarks).
    """
    started = time.time()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng([config.seed, 12])
    confirmed_score = None
    cameras = [t.camera for t in maps]
    shortfall = confirmed_shortfall(cameras, people or {}, config)
    if shortfall is not None:
        return AdaptOutcome(None, False, 0.0, 0.0, 0, f"too few confirmed matches to check it against ({shortfall})")
    if config.check == "confirmed":
        confirmed_score = confirmed_check(maps, people or {})
        what = f"the {confirmed_queries(cameras, people or {})} confirmed cross-camera matches (mAP)"
    else:
        what = "the held-out self-check (mAP)"
    order = rng.permutation(len(maps))
    held_count = max(4, round(len(maps) * config.held_out))
    if len(maps) - held_count < 4:
        return AdaptOutcome(None, False, 0.0, 0.0, 0, f"too few tracklets to adapt and check ({len(maps)})")
    held = [maps[i] for i in order[:held_count]]
    train = [maps[i] for i in order[held_count:]]

    def check(candidate: ReIDModel) -> EpochScore:
        own = self_check(candidate, held)
        if confirmed_score is None:
            return EpochScore(own, own)
        result = confirmed_score(candidate)
        return EpochScore(result.mean_ap, own, result.query_aps)

    start_model = copy.deepcopy(model).eval()
    start = check(start_model)
    if on_epoch is not None:
        on_epoch(0, start_model)
    with torch.inference_mode():
        start_vectors = torch.stack([tracklet_vector(start_model, t.views[0]) for t in train])
    targets = anchors[order[held_count:]] if anchors is not None else start_vectors
    pairs = pseudo_positives(start_vectors, train, config.pseudo_threshold)
    partner = {i: j for i, j in pairs} | {j: i for i, j in pairs}
    log(f"{len(train)} tracklets to adapt on, {len(held)} held out; {len(pairs)} cross-camera pseudo-positive pairs")
    log(f"{what} of the start model: {start.score:.4f}")

    student = copy.deepcopy(model)
    student.backbone.requires_grad_(False)
    heads = [p for n, p in student.named_parameters() if not n.startswith("backbone.")]
    start_weights = [p.detach().clone() for p in heads]
    if not config.adapt_gates and student.rru is not None:
        student.rru.requires_grad_(False)
    optimiser = torch.optim.AdamW([p for p in heads if p.requires_grad], lr=config.lr, weight_decay=0.0)
    best_state, best, best_epoch = None, start, 0  # the best epoch that meets every condition
    top, top_epoch, top_fault = start, 0, "no epoch ran"  # the best-scoring epoch, for the reason
    history: list[dict] = []
    for epoch in range(1, config.epochs + 1):
        student.train()
        student.backbone.eval()
        if config.keep_norm_statistics:
            for module in student.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()
        losses = []
        for _ in range(config.iterations_per_epoch):
            picked = _pick(len(train), partner, config.batch_size, rng)
            clips, groups = [], []
            for i in picked:
                for _ in range(2):
                    clips.append(_clip(train[i].views, config.clip_length, rng))
                    groups.append(min(i, partner.get(i, i)))
            batch = torch.stack(clips)
            f = student.temporal(student.rru(batch)[0] if student.rru else batch)
            target = targets[[i for i in picked for _ in range(2)]]
            same = torch.tensor(groups)[:, None] == torch.tensor(groups)[None, :]
            never = torch.tensor(
                [[overlapping(train[a], train[b]) for b in _pair_index(picked)] for a in _pair_index(picked)]
            )
            same &= ~never
            contrast = _supcon(F.normalize(f, dim=1), same, config.temperature)
            anchor = relation_loss(f, target) + (1 - F.cosine_similarity(f, target, dim=1)).mean()
            drift = sum(((p - w) ** 2).sum() for p, w in zip(heads, start_weights, strict=True))
            loss = config.contrast_weight * contrast + config.anchor_weight * (anchor + 1e-3 * drift)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        scored = check(student)
        if on_epoch is not None:
            on_epoch(epoch, student)
        fault = refusal(start, scored, epoch, config, what)
        better, worse = scored.moved_from(start)
        entry = {
            "epoch": epoch, "loss": float(np.mean(losses)), "check": scored.score, "self_check": scored.own,
            "better_matches": better, "worse_matches": worse, "refused": fault,
        }  # fmt: skip
        history.append(entry)
        moved = f" ({better} confirmed matches ranked better, {worse} worse)" if scored.query_aps is not None else ""
        log(f"epoch {epoch}/{config.epochs}: loss {entry['loss']:.4f}, check {scored.score:.4f}{moved}")
        if progress is not None:
            progress({"stage": "adapt", "epoch": epoch, "epochs": config.epochs, "check": scored.score})
        if top_epoch == 0 or scored.score > top.score:
            top, top_epoch, top_fault = scored, epoch, fault
        if fault is None and (best_state is None or scored.score > best.score):
            best_state, best, best_epoch = copy.deepcopy(student.state_dict()), scored, epoch
    seconds = time.time() - started
    common = {
        "history": history, "pseudo_pairs": len(pairs), "tracklets": len(maps), "seconds": seconds, "check": what
    }  # fmt: skip
    if best_state is None:
        return AdaptOutcome(None, False, start.score, top.score, top_epoch, top_fault, **common)
    student.load_state_dict(best_state)
    name = "confirmed matches" if config.check == "confirmed" else "self-check"
    reason = f"{name} {start.score:.4f} → {best.score:.4f} (epoch {best_epoch})"
    return AdaptOutcome(student.eval(), True, start.score, best.score, best_epoch, reason, **common)


def refusal(start: EpochScore, scored: EpochScore, epoch: int, config: AdaptConfig, what: str) -> str | None:
    """Why an epoch may not be kept (None: it may). Adapt keeps the best-scoring epoch that may be
    kept; when none may, it reports the best-scoring epoch's reason, as worded here."""
    if scored.score < start.score - config.tolerance:
        return (
            f"every epoch scored below the start model on {what} "
            f"(best {scored.score:.4f} vs start {start.score:.4f}, tolerance {config.tolerance})"
        )
    if config.check != "confirmed":
        return None
    if scored.score < start.score + config.min_gain:
        return (
            f"no epoch ranked {what} better than the start model by {config.min_gain} "
            f"(best {scored.score:.4f} vs start {start.score:.4f})"
        )
    better = f"epoch {epoch} ranked {what} better ({start.score:.4f} → {scored.score:.4f})"
    confirmed = 0 if scored.query_aps is None else len(scored.query_aps)
    raised, worse = scored.moved_from(start)
    allowed = math.floor(config.max_worse_share * confirmed)
    if worse > allowed:
        return f"{better} but ranked {worse} of those matches worse than the start model did ({allowed} allowed)"
    if raised + worse == 0:
        return f"{better} but ranked none of those matches differently from the start model"
    chance = chance_of(raised, worse)
    if chance > config.max_chance:
        return (
            f"{better} but ranked only {raised} of those matches better and {worse} worse: chance alone does that "
            f"{_percent(chance)} of the time ({_percent(config.max_chance)} allowed; "
            "more confirmed matches tell a real gain from chance sooner)"
        )
    if scored.own < start.own - config.tolerance:
        return (
            f"{better} but scored below the start model on the held-out self-check "
            f"({start.own:.4f} → {scored.own:.4f}, tolerance {config.tolerance})"
        )
    return None


def _percent(share: float) -> str:
    """A share as a percentage with 3 significant digits: 25%, 5.47% (never 5% for just above 5 %)."""
    return f"{100 * share:.3g}%"


def _pair_index(picked: list[int]) -> list[int]:
    return [i for i in picked for _ in range(2)]


def _pick(count: int, partner: dict[int, int], size: int, rng: np.random.Generator) -> list[int]:
    """``size`` distinct tracklets; half of the draws bring their pseudo-partner along."""
    chosen: list[int] = []
    for i in rng.permutation(count):
        if len(chosen) >= size:
            break
        if i in chosen:
            continue
        chosen.append(int(i))
        j = partner.get(int(i))
        if j is not None and j not in chosen and len(chosen) < size and rng.random() < 0.5:
            chosen.append(j)
    return chosen


def _supcon(f: torch.Tensor, same: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised-contrastive loss with ``same`` as the positive mask (the diagonal is ignored)."""
    eye = torch.eye(f.shape[0], dtype=torch.bool)
    logits = (f @ f.T / temperature).masked_fill(eye, -1e9)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = same & ~eye
    counts = positives.sum(dim=1).clamp(min=1)
    return -((log_prob * positives).sum(dim=1) / counts).mean()
