"""The operator's retraining loop: fine-tune on a workspace, keep the model in it, register it.

Two sources of learning: the identities the operator confirmed (``finetune``, the Trainer), or
the tracks themselves without any label (``adapt``, ``training.adapt``: refused when its
self-check says the model got worse). The new checkpoint is copied into the workspace's
``models/`` folder so the workspace stays self-contained, then registered as one of its models.
On a PostgreSQL workspace that folder (and the run's ``training/`` folder) is this machine's cache
folder of the case (``workspace.folder``); the registration, by content digest, is on the server,
and another machine uses the model once the file is copied into its own cache (``model_files``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.embed import decode_crops, embed_workspace, register_checkpoint
from app.pipeline.events import Progress, StepProgress, adapt_progress, train_progress
from app.pipeline.model_files import model_file, require_model_file
from app.pipeline.query import active_model_id
from app.pipeline.unfinished_runs import discard_killed_runs, run_model_path, unfinished_run
from reid_core.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint
from reid_core.devices import resolve_device
from reid_core.errors import UserError
from reid_core.store.location import is_database_url
from reid_core.whole_file import written_whole
from reid_core.workspace import Workspace, WorkspaceError, open_workspace
from resources import DEFAULT_REID_CHECKPOINT
from training.adapt import AdaptConfig, AdaptOutcome, adapt, confirmed_shortfall, tracklet_maps
from training.config import TrainConfig
from training.data.catalog import open_dataset
from training.trainer import Trainer


@dataclass
class RetrainResult:
    checkpoint: Path
    model_id: str | None  # None when the model was written elsewhere and not registered
    history: list[dict]
    identities: int
    tracklets: int


def base_checkpoint(workspace: Workspace) -> Path:
    """Start from the model the workspace uses now, or the shipped default (also when a folder
    workspace's model file is gone). On a shared database the active model's file may be on another
    analyst's machine only: refused in one line rather than silently training from the default."""
    try:
        model = workspace.model(active_model_id(workspace))
    except WorkspaceError:  # nothing embedded yet
        return DEFAULT_REID_CHECKPOINT
    if model is not None and is_database_url(workspace.location):
        return require_model_file(workspace, model)
    return (model_file(workspace, model) if model is not None else None) or DEFAULT_REID_CHECKPOINT


def retrain_workspace(
    location: str | Path,
    config: TrainConfig,
    start_from: str | Path | None = None,
    device: str = "auto",
    out: str | Path | None = None,
    embed: bool = False,
    progress: Callable[[Progress], None] | None = None,
    show_progress: bool = True,
) -> RetrainResult:
    """Fine-tune on the confirmed identities, then write the model to ``out`` or keep it in the workspace
    (``location``: its folder or ``postgresql://`` URL)."""
    device = resolve_device(device, training=True)
    if device == "onnx":
        raise ValueError("training runs on PyTorch: use device auto, cpu or cuda")
    discard_killed_runs(location)
    dataset = open_dataset("workspace", location)
    with open_workspace(location, create=False) as workspace:
        start = Path(start_from) if start_from is not None else base_checkpoint(workspace)
        active_before = workspace.get_meta("active_model")
        folder = workspace.folder
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"finetune-{stamp}"
    run_dir = folder / "training" / name
    model_id = None
    with unfinished_run(location, name, active_before):
        trainer = Trainer(
            config,
            dataset,
            run_dir,
            init_checkpoint=start,
            device=device,
            show_progress=show_progress,
            progress=(lambda step: progress(train_progress(step))) if progress is not None else None,
            run_name=f"{name} from {start.name} on {len(dataset.train_ids)} identities",
        )
        result = trainer.run()
        target = Path(out) if out is not None else run_model_path(folder, name)
        copy_whole(result.best, target)
        if out is None:
            model_id = _keep_in_workspace(location, target, device, embed, progress)
    return RetrainResult(target, model_id, result.history, len(dataset.train_ids), len(dataset.train))


@dataclass
class AdaptResult:
    outcome: AdaptOutcome
    checkpoint: Path | None  # None when the check refused the adapted model
    model_id: str | None


def adapt_workspace(
    location: str | Path,
    config: AdaptConfig,
    start_from: str | Path | None = None,
    device: str = "auto",
    out: str | Path | None = None,
    embed: bool = False,
    teacher_xml: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    log: Callable[[str], None] = print,
) -> AdaptResult:
    """Adapt to the workspace's own tracks (``training.adapt``); keep the model only if its check passes."""
    device = resolve_device(device, training=True)
    if device == "onnx":
        raise ValueError("adaptation runs on PyTorch: use device auto, cpu or cuda")
    discard_killed_runs(location)
    with open_workspace(location, create=False) as workspace:
        start = Path(start_from) if start_from is not None else base_checkpoint(workspace)
        active_before = workspace.get_meta("active_model")
        folder = workspace.folder
        rows = [row for row in workspace.tracklets() if row.length >= 2]
        tracklets = [
            (row.camera, row.video_id, (row.start_time, row.end_time), decode_crops(workspace.crops(row.id)))
            for row in rows
        ]
        identity = {tracklet: person for person, tracklet, _ in workspace.identity_memberships()}
    kept = [i for i, t in enumerate(tracklets) if len(t[3]) >= 2]
    tracklets = [tracklets[i] for i in kept]
    people = {index: identity[rows[i].id] for index, i in enumerate(kept) if rows[i].id in identity}
    shortfall = confirmed_shortfall([t[0] for t in tracklets], people, config)
    if shortfall is not None:  # said before the minutes the maps and training take
        raise UserError(
            f"{location}: adapt judges its model by the confirmed matches, and {shortfall}: confirm matches in the "
            "window first, or pass --check self (label-free; measured not to follow real cross-camera mAP)"
        )
    start_data = read_checkpoint(start)  # read once: the model and its recipe
    model = model_from_checkpoint(start_data, start).eval()
    log(f"adapting {start.name} to {len(tracklets)} tracklets of {len({t[0] for t in tracklets})} cameras")
    maps = tracklet_maps(model, tracklets, config, _embed_progress(progress))
    anchors = None
    if teacher_xml is not None:
        from training.teacher import Teacher

        anchors = Teacher(teacher_xml).tracklet_vectors([crops for _, _, _, crops in tracklets])
    outcome = adapt(
        model,
        maps,
        config,
        anchors=anchors,
        log=log,
        progress=(lambda step: progress(adapt_progress(step))) if progress is not None else None,
        people=people,
    )
    if not outcome.accepted or outcome.model is None:
        return AdaptResult(outcome, None, None)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {
        "name": f"adapt-{stamp}",
        "trained": True,
        "description": f"{start.name} adapted without labels to {folder.name} ({outcome.reason})",
        "adapted_from": start.name,
        "check": {
            "on": outcome.check,
            "start": outcome.start_score,
            "adapted": outcome.best_score,
            "epoch": outcome.best_epoch,
            **outcome.kept_epoch_moves(),
        },
        "recipe": (start_data.get("meta") or {}).get("recipe"),
    }
    target = Path(out) if out is not None else run_model_path(folder, f"adapt-{stamp}")
    model_id = None
    with unfinished_run(location, f"adapt-{stamp}", active_before):
        save_checkpoint(outcome.model, target, meta)
        if out is None:
            model_id = _keep_in_workspace(location, target, device, embed, progress)
    return AdaptResult(outcome, target, model_id)


def _keep_in_workspace(
    location: str | Path, target: Path, device: str, embed: bool, progress: Callable[[Progress], None] | None
) -> str:
    """Register the model at ``target`` (or, with ``embed``, embed the workspace with it and make it
    active); returns its id."""
    with open_workspace(location, create=False) as workspace:
        if not embed:
            return register_checkpoint(workspace, target)
        # embedding registers the model itself: the checkpoint is read once
        model_id = embed_workspace(workspace, target, device, progress=_embed_progress(progress)).model_id
        workspace.set_meta("active_model", model_id)
        return model_id


def copy_whole(source: Path, target: Path) -> None:
    """Copy through a temporary file renamed into place: a kill never leaves half a checkpoint."""
    with written_whole(target) as partial:
        shutil.copyfile(source, partial)


def _embed_progress(progress: Callable[[Progress], None] | None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(StepProgress("embed", done, total))
