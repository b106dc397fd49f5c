"""Cross-camera search in a workspace: ranked tracklets of other cameras for a query person."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_core.search import Combine, k_reciprocal_distances, normalise, top_k_cosine
from reid_core.store.vector_index import VectorIndex, open_index
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


@dataclass(frozen=True)
class ModelChoice:
    """A model the operator can search with: one with embeddings, labelled with how far it got."""

    model_id: str
    label: str  # "name (N tracklets)", or "name (n of N tracklets, embedding…)"
    active: bool


def model_choices(workspace: Workspace) -> list[ModelChoice]:
    """The models with embeddings, newest first, the one queries use marked ``active``."""
    embedded = workspace.embedded_counts()
    try:
        active = active_model_id(workspace)
    except WorkspaceError:
        active = None
    total = workspace.tracklet_count()
    choices = []
    for model in reversed(workspace.models()):
        if model["id"] in embedded:
            done = embedded[model["id"]]
            coverage = f"{done} tracklets" if done >= total else f"{done} of {total} tracklets, embedding…"
            choices.append(ModelChoice(model["id"], f"{model['name']} ({coverage})", model["id"] == active))
    return choices


def set_active_model(workspace: Workspace, model_id: str) -> None:
    """Queries use this model from now on (``active_model_id``)."""
    workspace.set_meta("active_model", model_id)


def query_workspace(
    workspace: Workspace,
    tracklet_ids: list[int],
    model_id: str | None = None,
    options: QueryOptions = QueryOptions(),
    index: VectorIndex | None = None,
) -> list[Match]:
    """Rank the other tracklets against one or several tracklets of the same person.

    Vectors and filter columns come from the model's memory-mapped vector index (checked against
    the database first; ``index`` is an already open one a long-lived caller keeps), so a query
    reads no embedding or tracklet row from SQLite except those of the matches it returns.
    """
    model_id = model_id or active_model_id(workspace)
    index = open_index(workspace, model_id, index if index is not None and index.model_id == model_id else None)
    return rank_in_index(workspace, index, tracklet_ids, options)


def rank_in_index(
    workspace: Workspace, index: VectorIndex, tracklet_ids: list[int], options: QueryOptions = QueryOptions()
) -> list[Match]:
    """``query_workspace`` on an index already open and checked (what a long-lived caller keeps)."""
    rows, missing = index.rows_of(tracklet_ids)
    if missing:
        raise WorkspaceError(f"{workspace.path}: tracklets {missing} have no embedding for model {index.model_id}")
    queries = np.asarray(index.vectors[rows])
    mask = gallery_mask(index, rows, workspace.cameras(), options)
    if not options.rerank:
        found, sims = top_k_cosine(queries, index.vectors, options.top_k, mask, options.combine)
        return _matches(workspace, index.ids[found], sims)
    pool = max(options.rerank_candidates, options.top_k)
    found, sims = top_k_cosine(queries, index.vectors, pool, mask, options.combine)
    query = normalise(queries.mean(axis=0, keepdims=True)) if options.combine == "average" else queries
    candidates = np.asarray(index.vectors[found])
    distances = k_reciprocal_distances(query, candidates, options.k1, options.k2, options.lambda_value).min(axis=0)
    order = np.lexsort((index.ids[found], distances))[: options.top_k]
    return _matches(workspace, index.ids[found][order], sims[order], distances[order])


def gallery_mask(
    index: VectorIndex, query_rows: np.ndarray, cameras: dict[int, str], options: QueryOptions
) -> np.ndarray:
    """Which index rows may be ranked: vectorised over the index's camera and time columns."""
    allowed = np.ones(max(cameras, default=0) + 1, dtype=bool)  # by camera id
    if options.cameras is not None:
        allowed[:] = False
        allowed[[i for i, name in cameras.items() if name in options.cameras]] = True
    if options.exclude_own_camera:
        own = {cameras.get(int(c)) for c in index.cameras[query_rows]}
        allowed[[i for i, name in cameras.items() if name in own]] = False
    mask = allowed[index.cameras]
    mask[query_rows] = False
    if options.time_window is not None:
        start, end = options.time_window
        mask &= (index.ends >= start) & (index.starts <= end)
    return mask


def _matches(
    workspace: Workspace, tracklet_ids: np.ndarray, sims: np.ndarray, distances: np.ndarray | None = None
) -> list[Match]:
    rows = workspace.tracklets_by_id(tracklet_ids.tolist())
    return [
        Match(
            rank + 1,
            row.id,
            row.camera,
            float(sims[rank]),
            row.start_time,
            row.end_time,
            None if distances is None else float(distances[rank]),
        )
        for rank, row in enumerate(rows[int(t)] for t in tracklet_ids)
    ]
