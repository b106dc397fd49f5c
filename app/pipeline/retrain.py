"""The operator's retraining loop: fine-tune on a workspace, keep the model in it, register it.

Two sources of labels: the identities the operator confirmed (``finetune``), or the tracks
themselves without any label (``adapt``: one track is one person, tracks overlapping in time
in one video are different people). The new checkpoint is copied into the workspace's
``models/`` folder so the workspace stays self-contained, then registered as one of its models.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.pipeline.embed import embed_workspace, register_checkpoint, resolve_device
from app.pipeline.query import active_model_path
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT
from training.config import TrainConfig
from training.data.catalog import open_dataset
from training.trainer import Trainer

Labels = Literal["confirmed", "tracks"]
DATASET_KIND: dict[str, str] = {"confirmed": "workspace", "tracks": "workspace-tracks"}


@dataclass
class RetrainResult:
    checkpoint: Path
    model_id: str | None  # None when the model was written elsewhere and not registered
    history: list[dict]
    identities: int
    tracklets: int


def base_checkpoint(workspace: Workspace) -> Path:
    """Start from the model the workspace uses now, or the shipped default."""
    return active_model_path(workspace) or DEFAULT_REID_CHECKPOINT


def retrain_workspace(
    folder: str | Path,
    config: TrainConfig,
    labels: Labels = "confirmed",
    start_from: str | Path | None = None,
    device: str = "auto",
    out: str | Path | None = None,
    embed: bool = False,
    progress: Callable[[dict], None] | None = None,
    show_progress: bool = True,
) -> RetrainResult:
    """Train, then either write the model to ``out`` or keep it in the workspace (and embed with it)."""
    folder = Path(folder)
    device = resolve_device(device)
    if device == "onnx":
        raise ValueError("training runs on PyTorch: use device auto, cpu or cuda")
    dataset = open_dataset(DATASET_KIND[labels], folder)
    with Workspace(folder, create=False) as workspace:
        start = Path(start_from) if start_from is not None else base_checkpoint(workspace)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{'finetune' if labels == 'confirmed' else 'adapt'}-{stamp}"
    units = "identities" if labels == "confirmed" else "tracks"
    run_dir = folder / "training" / name
    trainer = Trainer(
        config,
        dataset,
        run_dir,
        init_checkpoint=start,
        device=device,
        show_progress=show_progress,
        progress=progress,
        run_name=f"{name} from {start.name} on {len(dataset.train_ids)} {units}",
    )
    result = trainer.run()
    model_id = None
    if out is not None:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.best, target)
    else:
        target = folder / "models" / f"{name}.pt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.best, target)
        with Workspace(folder, create=False) as workspace:
            if embed:  # embedding registers the model itself: the checkpoint is read once
                model_id = embed_workspace(workspace, target, device, progress=_embed_progress(progress)).model_id
                workspace.set_meta("active_model", model_id)
            else:
                model_id = register_checkpoint(workspace, target)
    return RetrainResult(target, model_id, result.history, len(dataset.train_ids), len(dataset.train))


def _embed_progress(progress: Callable[[dict], None] | None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress({"stage": "embed", "done": done, "total": total})
