"""Embed every tracklet of a workspace with one model: incremental, batched, kill-safe.

The model id is the checkpoint's content hash, so the torch and ONNX engines of the same
checkpoint share one id (they give the same vectors), and another checkpoint gets its own rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.model_files import model_file
from reid_core.checkpoint import file_digest, model_from_checkpoint, read_checkpoint
from reid_core.crops import decode_crops
from reid_core.devices import resolve_device
from reid_core.embedder import DEFAULT_TRACKLETS, WORKSPACE_CHUNK, Embedder
from reid_core.errors import storage_error
from reid_core.onnx_engine import export_onnx, is_current_export, onnx_embedder
from reid_core.store.vector_index import sync_index
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT

TRACKLETS_PER_COMMIT = DEFAULT_TRACKLETS  # tracklets embedded and committed together: the most a kill can lose


@dataclass
class EmbedSummary:
    model_id: str
    device: str
    embedded: int
    already_done: int


@dataclass
class OpenedModel:
    embedder: Embedder
    model_id: str
    name: str
    config: dict
    feature_dim: int


def open_embedder(
    checkpoint: Path, device: str, onnx_cache: Path, chunk_size: int = WORKSPACE_CHUNK
) -> OpenedModel:
    """The embedder for a checkpoint on a resolved device (read once); ONNX graphs are exported once."""
    data = read_checkpoint(checkpoint)  # first: it names a missing file or a folder in one line
    model_id = file_digest(checkpoint)
    model = model_from_checkpoint(data, checkpoint)
    name = str(data.get("meta", {}).get("name", checkpoint.stem))
    if device == "onnx":
        folder = shipped_onnx(checkpoint, model_id) or onnx_cache / model_id
        if not is_current_export(folder):  # none yet, or one an older version wrote
            export_onnx(model, folder)
        embedder = onnx_embedder(folder, chunk_size=chunk_size)
    else:
        embedder = Embedder.from_model(model, device=device, chunk_size=chunk_size)
    return OpenedModel(embedder, model_id, name, data["config"], model.feature_dim)


def shipped_onnx(checkpoint: Path, model_id: str) -> Path | None:
    """An ONNX export kept beside the checkpoint (``NAME.onnx/``, as the default ships) if it is this model's."""
    folder = checkpoint.with_suffix(".onnx")
    stamp = folder / "model_id"
    if stamp.is_file() and stamp.read_text().strip() == model_id and is_current_export(folder):
        return folder
    return None


def export_beside(checkpoint: str | Path) -> Path:
    """Write the checkpoint's ONNX stage graphs to ``NAME.onnx/``, stamped with its model id (see ``shipped_onnx``)."""
    checkpoint = Path(checkpoint)
    model = model_from_checkpoint(read_checkpoint(checkpoint), checkpoint)
    folder = export_onnx(model, checkpoint.with_suffix(".onnx"))
    (folder / "model_id").write_text(file_digest(checkpoint) + "\n")
    return folder


def register(workspace: Workspace, opened: OpenedModel, checkpoint: Path) -> None:
    workspace.register_model(
        opened.model_id,
        opened.name,
        str(checkpoint.resolve()),
        str(opened.config["backbone"]),
        opened.feature_dim,
        opened.config,
    )


def register_checkpoint(workspace: Workspace, checkpoint: str | Path) -> str:
    """Make a checkpoint one of the workspace's models (without embedding); returns its id."""
    checkpoint = Path(checkpoint)
    opened = open_embedder(checkpoint, "cpu", workspace.folder / "onnx")
    register(workspace, opened, checkpoint)
    return opened.model_id


def checkpoints_in_use(workspace: Workspace, new_tracklets_model: str | Path, first: str | None = None) -> list[Path]:
    """Every checkpoint whose vectors the workspace keeps, each once: the model that embeds new
    tracklets (the settings') and every registered model whose file is still there, with the
    model ``first`` (the active one) at the front so the view the operator looks at fills first
    (on a shared database, a model trained on another machine once its file is copied here).

    Embedding a new video with all of them is what keeps a camera visible whichever model is active.
    """
    models = workspace.models()
    chosen = [m for m in models if m["id"] == first] + [m for m in models if m["id"] != first]
    paths = [path for path in (model_file(workspace, m) for m in chosen) if path is not None]
    paths.append(Path(new_tracklets_model))
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def missing_per_model(workspace: Workspace) -> dict[str, int]:
    """Tracklets each registered model has not embedded yet (models that embedded all are absent,
    and so are models whose checkpoint file is gone: nothing can embed with them)."""
    total = workspace.tracklet_count()
    embedded = workspace.embedded_counts()
    usable = [m for m in workspace.models() if model_file(workspace, m) is not None]
    missing = {m["id"]: total - embedded.get(m["id"], 0) for m in usable}
    return {model_id: count for model_id, count in missing.items() if count > 0}


def embed_group(workspace: Workspace, opened: OpenedModel, group: list[int]) -> None:
    """Embed these tracklets and store their vectors in one transaction."""
    crops = [workspace.crops(tracklet_id) for tracklet_id in group]
    results = opened.embedder.embed_many([decode_crops(c) for c in crops])
    try:
        with workspace.transaction():
            for tracklet_id, tracklet_crops, result in zip(group, crops, results, strict=True):
                workspace.save_embedding(
                    tracklet_id, opened.model_id, result.unit_feature, [f for f, _ in tracklet_crops], result.heatmaps
                )
    except (sqlite3.Error, OSError) as exc:  # the group rolled back; the groups before it stay
        error = storage_error(exc, workspace.path)
        if error is None:
            raise
        raise error from exc


def embed_workspace(
    workspace: Workspace,
    checkpoint: str | Path = DEFAULT_REID_CHECKPOINT,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> EmbedSummary:
    """Embed the tracklets this model has not embedded yet; each group commits on its own."""
    checkpoint = Path(checkpoint)
    device = resolve_device(device)
    opened = open_embedder(checkpoint, device, workspace.folder / "onnx")
    model_id = opened.model_id
    todo = workspace.unembedded_tracklets(model_id)
    already = workspace.tracklet_count() - len(todo)
    if todo:
        register(workspace, opened, checkpoint)
    done = 0
    for start in range(0, len(todo), TRACKLETS_PER_COMMIT):
        if cancelled is not None and cancelled():
            break
        group = todo[start : start + TRACKLETS_PER_COMMIT]
        embed_group(workspace, opened, group)
        sync_index(workspace, model_id)  # the index follows each commit; a kill between them is caught on open
        done += len(group)
        if progress is not None:
            progress(done, len(todo))
    return EmbedSummary(model_id, device, done, already)
