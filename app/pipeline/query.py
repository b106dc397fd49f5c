"""Cross-camera search in a workspace: ranked tracklets of other cameras for a query person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reid_core.search import Combine, k_reciprocal_distances, normalise, top_k_cosine
from reid_core.workspace import Workspace, WorkspaceError


@dataclass(frozen=True)
class QueryOptions:
    top_k: int = 20
    cameras: tuple[str, ...] | None = None  # only these cameras (by name)
    exclude_own_camera: bool = True
    time_window: tuple[float, float] | None = None  # keep tracklets overlapping [start, end] seconds
    combine: Combine = "average"
    rerank: bool = False
    rerank_candidates: int = 100  # re-ranking re-orders this many cosine candidates
    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3


@dataclass(frozen=True)
class Match:
    rank: int
    tracklet_id: int
    camera: str
    similarity: float  # cosine similarity to the query
    start_time: float
    end_time: float
    distance: float | None = None  # re-ranked distance when re-ranking was used


def active_model_id(workspace: Workspace) -> str:
    """The model queries use: the one the operator chose (``active_model``), else the newest with embeddings."""
    chosen = workspace.get_meta("active_model")
    if chosen is not None and workspace.has_embeddings(chosen):
        return chosen
    newest = workspace.newest_embedded_model()
    if newest is None:
        raise WorkspaceError(f"{workspace.path}: no embeddings yet; run 'reid embed' first")
    return newest


def active_model_path(workspace: Workspace) -> Path | None:
    """The checkpoint file of the model queries use, when there is one and it still exists."""
    try:
        model_id = active_model_id(workspace)
    except WorkspaceError:
        return None
    model = workspace.model(model_id)
    return Path(model["path"]) if model and Path(model["path"]).is_file() else None


def query_workspace(
    workspace: Workspace, tracklet_ids: list[int], model_id: str | None = None, options: QueryOptions = QueryOptions()
) -> list[Match]:
    """Rank the other tracklets against one or several tracklets of the same person."""
    model_id = model_id or active_model_id(workspace)
    ids, vectors = workspace.embeddings(model_id)
    position = {int(t): i for i, t in enumerate(ids)}
    missing = [t for t in tracklet_ids if t not in position]
    if missing:
        raise WorkspaceError(f"{workspace.path}: tracklets {missing} have no embedding for model {model_id}")
    rows = {t.id: t for t in workspace.tracklets()}
    queries = vectors[[position[t] for t in tracklet_ids]]
    mask = gallery_mask(ids, rows, tracklet_ids, options)
    if not options.rerank:
        found, sims = top_k_cosine(queries, vectors, options.top_k, mask, options.combine)
        return [_match(r + 1, rows[int(ids[i])], float(s)) for r, (i, s) in enumerate(zip(found, sims))]
    pool = max(options.rerank_candidates, options.top_k)
    found, sims = top_k_cosine(queries, vectors, pool, mask, options.combine)
    query = normalise(queries.mean(axis=0, keepdims=True)) if options.combine == "average" else queries
    distances = k_reciprocal_distances(query, vectors[found], options.k1, options.k2, options.lambda_value).min(axis=0)
    order = np.lexsort((found, distances))[: options.top_k]
    return [_match(r + 1, rows[int(ids[found[i]])], float(sims[i]), float(distances[i])) for r, i in enumerate(order)]


def gallery_mask(ids: np.ndarray, rows: dict, query_ids: list[int], options: QueryOptions) -> np.ndarray:
    cameras = np.array([rows[int(t)].camera for t in ids])
    mask = ~np.isin(ids, query_ids)
    if options.exclude_own_camera:
        mask &= ~np.isin(cameras, [rows[t].camera for t in query_ids])
    if options.cameras is not None:
        mask &= np.isin(cameras, list(options.cameras))
    if options.time_window is not None:
        start, end = options.time_window
        starts = np.array([rows[int(t)].start_time for t in ids])
        ends = np.array([rows[int(t)].end_time for t in ids])
        mask &= (ends >= start) & (starts <= end)
    return mask


def _match(rank: int, row, similarity: float, distance: float | None = None) -> Match:  # type: ignore[no-untyped-def]
    return Match(rank, row.id, row.camera, similarity, row.start_time, row.end_time, distance)
