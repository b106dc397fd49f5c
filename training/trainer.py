"""The training loop: identity-balanced clips, L = Lc + Lv + Lp, SGD, per-epoch checkpoints.

Every epoch writes ``last.pt`` (full training state, for resume) and, when the held-out score
improves, ``best.pt`` (a plain model checkpoint the app and ``evaluate`` load). Model selection
uses identities held out of the training split, never the test split.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from reid_core.checkpoint import load_model, save_checkpoint
from reid_core.checkpoint_io import CheckpointError, load_torch_file, save_torch_file
from reid_core.embedder import DEFAULT_CHUNK, Embedder, preprocess
from reid_core.losses import LossWeights, ReIDLoss
from reid_core.model import ReIDModel, variant_config
from training.config import TrainConfig
from training.data.records import TrackletRecord, VideoDataset
from training.evaluation import EvalResult, evaluate
from training.report import plot_cmc, plot_losses
from training.sampler import identity_batches, window

STATE_FORMAT = "rru-stim-train-state"
LOSS_TERMS = ("total", "ce", "aux", "video", "part")


@dataclass
class TrainResult:
    best: Path
    last: Path
    history: list[dict]
    validation: EvalResult | None


def split_held_out(dataset: VideoDataset, share: float, seed: int) -> tuple[VideoDataset, VideoDataset | None]:
    """Keep ``share`` of the training identities apart for model selection."""
    ids = dataset.train_ids
    count = math.floor(len(ids) * share)
    if count < 2 or len(ids) - count < 2:
        return dataset, None
    held = set(np.random.default_rng([seed, 999]).permutation(ids)[:count].tolist())
    train = [r for r in dataset.train if r.pid not in held]
    val = [r for r in dataset.train if r.pid in held]
    first_camera = {pid: min(r.camid for r in val if r.pid == pid) for pid in held}
    query = [r for r in val if r.camid == first_camera[r.pid]]
    kept = replace(dataset, train=train, query=[], gallery=[])
    if dataset.known_different is not None:
        kept.known_different = {p: s - held for p, s in dataset.known_different.items() if p not in held}
    return kept, VideoDataset(f"{dataset.name}[held-out]", [], query, val)


def embed_records(model: ReIDModel, records: list[TrackletRecord], max_frames: int | None, device: str) -> np.ndarray:
    """f of every tracklet from all its frames (or ``max_frames`` evenly spaced)."""
    embedder = Embedder.from_model(model, device=device, chunk_size=DEFAULT_CHUNK)
    features = []
    for record in records:
        count = len(record.frames)
        indices = list(range(count))
        if max_frames is not None and count > max_frames:
            indices = np.linspace(0, count - 1, max_frames).round().astype(int).tolist()
        features.append(embedder.embed(record.frames.read(indices)).unit_feature)
    return np.stack(features)


def evaluate_model(
    model: ReIDModel, dataset: VideoDataset, max_frames: int | None = None, device: str = "cpu", **options: object
) -> EvalResult:
    was_training = model.training
    query = embed_records(model, dataset.query, max_frames, device)
    gallery = embed_records(model, dataset.gallery, max_frames, device)
    model.train(was_training)

    def labels(records: list[TrackletRecord]) -> tuple[np.ndarray, np.ndarray]:
        return np.array([r.pid for r in records]), np.array([r.camid for r in records])

    return evaluate(query, *labels(dataset.query), gallery, *labels(dataset.gallery), **options)


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        dataset: VideoDataset,
        out_dir: str | Path,
        init_checkpoint: str | Path | None = None,
        device: str = "cpu",
        show_progress: bool = True,
        progress: Callable[[dict], None] | None = None,
        run_name: str | None = None,
    ) -> None:
        """``progress`` receives one dict per iteration (epoch, iteration, iterations, loss terms);
        ``run_name`` names the saved models (default: dataset, variant and epoch)."""
        self.config = config
        self.run_name = run_name
        self.progress = progress
        self.out_dir = Path(out_dir)
        self.device = torch.device(device)
        self.show_progress = show_progress
        self.train_set, self.val_set = split_held_out(dataset, config.held_out_ids, config.seed)
        self.label_of = {pid: i for i, pid in enumerate(self.train_set.train_ids)}
        classes = len(self.label_of) if config.loss_identity > 0 else 0
        torch.manual_seed(config.seed)  # the initial weights belong to the run: same seed, same start
        if init_checkpoint is not None:
            self.model = load_model(init_checkpoint, num_classes=classes)
        else:
            architecture = variant_config(
                config.variant,
                backbone=config.backbone,
                num_classes=classes,
                dropout=config.dropout,
                input_size=config.input_size,
            )
            self.model = ReIDModel(architecture, backbone_weights=config.backbone_weights)
        self.model.to(self.device)
        backbone = list(self.model.backbone.parameters())
        backbone_ids = {id(p) for p in backbone}
        rest = [p for p in self.model.parameters() if id(p) not in backbone_ids]
        self.optimizer = torch.optim.SGD(
            [{"params": backbone, "lr": config.lr * config.pretrained_lr_scale}, {"params": rest, "lr": config.lr}],
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
        self.loss = ReIDLoss(LossWeights(config.loss_identity, config.loss_video, config.loss_part, config.margin))
        self.amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.history: list[dict] = []
        self.best_score = -1.0
        self.start_epoch = 0
        self.last_path = self.out_dir / "last.pt"
        self.best_path = self.out_dir / "best.pt"

    # -- state --------------------------------------------------------------------------
    def save_state(self, epoch: int) -> None:
        state = {
            "format": STATE_FORMAT,
            "epoch": epoch,
            "config": self.config.to_dict(),
            "model_config": self.model.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "history": self.history,
            "best_score": self.best_score,
        }
        save_torch_file(state, self.last_path)

    def resume(self) -> None:
        state = load_torch_file(self.last_path)
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise CheckpointError(f"{self.last_path}: not a training state written by this trainer")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = list(state["history"])
        self.best_score = float(state["best_score"])
        self.start_epoch = int(state["epoch"]) + 1

    # -- loop ---------------------------------------------------------------------------
    def clip_batch(self, indices: list[int], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        clips, labels = [], []
        for index in indices:
            record = self.train_set.train[index]
            frames = record.frames.read(window(record, self.config.frames_per_clip, rng))
            clips.append(preprocess(frames, self.model.spec))
            labels.append(self.label_of[record.pid])
        return torch.stack(clips).to(self.device), torch.tensor(labels, device=self.device)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        config = self.config
        torch.manual_seed(config.seed * 100_003 + epoch)  # dropout: reproducible per epoch, so resume is exact
        batches = identity_batches(self.train_set, config.ids_per_batch, config.tracklets_per_id, config.seed, epoch)
        if config.iterations_per_epoch is not None:
            batches = [batches[i % len(batches)] for i in range(config.iterations_per_epoch)]
        rng = np.random.default_rng([config.seed, epoch, 1])
        sums = dict.fromkeys(LOSS_TERMS, 0.0)
        self.model.train()
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not self.show_progress, leave=False)
        for iteration, indices in enumerate(bar, 1):
            clips, labels = self.clip_batch(indices, rng)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                terms = self.loss(self.model(clips), labels)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(terms["total"]).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            losses = {k: float(terms[k].detach()) for k in LOSS_TERMS}
            for key, value in losses.items():
                sums[key] += value
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
            if self.progress is not None:
                self.progress(
                    {"epoch": epoch + 1, "epochs": config.epochs, "iteration": iteration, "iterations": len(batches)}
                    | losses
                )
        return {key: value / max(len(batches), 1) for key, value in sums.items()}

    def run(self, resume: bool = False) -> TrainResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.last_path.exists():
            self.resume()
        validation = None
        for epoch in range(self.start_epoch, self.config.epochs):
            started = time.perf_counter()
            row: dict = {"epoch": epoch + 1, **self.train_epoch(epoch)}
            if self.val_set is not None and (epoch + 1) % self.config.eval_every == 0:
                validation = evaluate_model(self.model, self.val_set, self.config.eval_max_frames, str(self.device))
                row.update({"val_rank1": validation.per_rank.get(1, 0.0), "val_map": validation.mean_ap})
                score = validation.per_rank.get(1, 0.0) + validation.mean_ap
            else:
                score = float(epoch)  # no held-out identities: the latest model is the best
            row["seconds"] = time.perf_counter() - started
            self.history.append(row)
            if score > self.best_score:
                self.best_score = score
                save_checkpoint(
                    self.model,
                    self.best_path,
                    {
                        "name": self.run_name or f"{self.train_set.name}-{self.config.variant}-epoch{epoch + 1}",
                        "trained": True,
                        "epoch": epoch + 1,
                        "train_config": self.config.to_dict(),
                    },
                )
            self.save_state(epoch)
            self.write_logs(validation)
        return TrainResult(self.best_path, self.last_path, self.history, validation)

    def write_logs(self, validation: EvalResult | None) -> None:
        keys = sorted({k for row in self.history for k in row}, key=lambda k: (k != "epoch", k))
        with open(self.out_dir / "metrics.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        plot_losses(self.history, self.out_dir / "losses.png")
        if validation is not None:
            plot_cmc({"held-out": validation}, self.out_dir / "cmc_heldout.png")
