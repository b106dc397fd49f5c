"""The vector index beside the SQLite file: exact results, and never stale after crashes or edits."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.pipeline.query import QueryOptions, query_workspace
from reid_core.store.vector_index import index_folder, open_index, sync_index
from reid_core.workspace import Workspace

DIM = 32
CAMERAS = ("lobby", "street", "garage", "roof")


def _vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _add(ws: Workspace, model_id: str, ids: range, rng: np.random.Generator) -> None:
    """Tracklets ``ids`` (cameras round-robin, times spread over an hour) embedded by ``model_id``."""
    cameras = {name: ws.camera_id(name) for name in CAMERAS}
    videos = {v["camera_id"]: v["id"] for v in ws.videos()}
    for name, camera_id in cameras.items():
        if camera_id not in videos:
            videos[camera_id] = ws.add_video({"camera_id": camera_id, "path": name, "content_hash": name})
    starts = rng.uniform(0, 3600, len(ids))
    rows = [
        {"id": t, "video_id": videos[cameras[CAMERAS[t % 4]]], "camera_id": cameras[CAMERAS[t % 4]], "track_id": t}
        | {"start_frame": 0, "end_frame": 1, "start_time": s, "end_time": s + 20, "length": 2}
        for t, s in zip(ids, starts)
    ]
    with ws.transaction():
        ws.add_tracklets(rows)
        ws.save_embeddings(model_id, list(ids), _vectors(rng, len(ids)))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """1500 tracklets in 4 cameras, embedded by two models (m1 active)."""
    folder = tmp_path_factory.mktemp("vector_index") / "ws"
    rng = np.random.default_rng(0)
    with Workspace(folder) as ws:
        for model_id in ("m1", "m2"):
            ws.register_model(model_id, model_id, "", "synthetic", DIM, {})
        _add(ws, "m1", range(1, 1501), rng)
        ws.save_embeddings("m2", list(range(1, 1501)), _vectors(rng, 1500))
        ws.set_meta("active_model", "m1")
    return folder


@pytest.fixture
def workspace(built: Path, tmp_path: Path) -> Path:
    """A copy of the built workspace the test may change (without an index yet)."""
    shutil.copytree(built, tmp_path / "ws", ignore=shutil.ignore_patterns("vector_index"))
    return tmp_path / "ws"


def brute_force(ws: Workspace, model_id: str, query_ids: list[int], options: QueryOptions) -> list[tuple[int, float]]:
    """The reference: every vector and tracklet row read from SQLite, every similarity computed."""
    ids, vectors = ws.embeddings(model_id)
    rows = {t.id: t for t in ws.tracklets()}
    queries = vectors[[list(ids).index(q) for q in query_ids]]
    if options.combine == "average":
        q = queries.mean(axis=0)
        sims = vectors @ (q / np.linalg.norm(q))
    else:
        sims = (vectors @ queries.T).max(axis=1)
    own = {rows[q].camera for q in query_ids}
    keep = []
    for i, t in enumerate(ids):
        row = rows[int(t)]
        if int(t) in query_ids or (options.exclude_own_camera and row.camera in own):
            continue
        if options.cameras is not None and row.camera not in options.cameras:
            continue
        if options.time_window is not None and not (
            row.end_time >= options.time_window[0] and row.start_time <= options.time_window[1]
        ):
            continue
        keep.append((int(t), float(sims[i])))
    return sorted(keep, key=lambda item: (-item[1], item[0]))[: options.top_k]


@pytest.mark.parametrize(
    "options, queries",
    [
        (QueryOptions(top_k=25), [7]),
        (QueryOptions(top_k=40, cameras=("street", "roof")), [8]),
        (QueryOptions(top_k=30, time_window=(600.0, 1800.0)), [9]),
        (QueryOptions(top_k=30, exclude_own_camera=False, cameras=("lobby", "garage"), time_window=(0, 900)), [12]),
        (QueryOptions(top_k=50, combine="best"), [5, 9, 13]),
        (QueryOptions(top_k=50, combine="average"), [5, 9, 13]),
    ],
)
def test_results_equal_brute_force(workspace: Path, options: QueryOptions, queries: list[int]) -> None:
    with Workspace(workspace) as ws:
        found = query_workspace(ws, queries, options=options)
        expected = brute_force(ws, "m1", queries, options)
        assert [m.tracklet_id for m in found] == [t for t, _ in expected]
        assert np.allclose([m.similarity for m in found], [s for _, s in expected], atol=1e-5)
        rows = {t.id: t for t in ws.tracklets()}
        assert all(m.camera == rows[m.tracklet_id].camera for m in found)


def test_rerank_reorders_the_brute_force_candidates(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        options = QueryOptions(top_k=20, rerank=True, rerank_candidates=60)
        reranked = query_workspace(ws, [7], options=options)
        pool = {t for t, _ in brute_force(ws, "m1", [7], QueryOptions(top_k=60))}
        assert len(reranked) == 20 and {m.tracklet_id for m in reranked} <= pool
        assert [m.distance for m in reranked] == sorted(m.distance for m in reranked)


def _arrays(ws: Workspace, model_id: str) -> dict[str, np.ndarray]:
    index = open_index(ws, model_id)
    order = np.argsort(index.ids)
    return {name: np.asarray(getattr(index, name))[order] for name in ("ids", "cameras", "starts", "ends", "vectors")}


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


def _clean(ws: Workspace, model_id: str) -> dict[str, np.ndarray]:
    """What a rebuild from SQLite gives (the index folder removed first)."""
    shutil.rmtree(index_folder(ws, model_id))
    return _arrays(ws, model_id)


def test_deleted_stale_or_torn_index_is_rebuilt_or_extended(workspace: Path) -> None:
    rng = np.random.default_rng(1)
    with Workspace(workspace) as ws:
        first = open_index(ws, "m1")
        assert len(first) == 1500 and first.vectors.dtype == np.float32
        # new vectors: the index is extended in place (same generation), the new rows are searchable
        _add(ws, "m1", range(1501, 1601), rng)
        extended = open_index(ws, "m1", first)
        assert len(extended) == 1600 and extended.stamp.generation == first.stamp.generation
        assert query_workspace(ws, [1550], options=QueryOptions(top_k=5, exclude_own_camera=False))
        clean = _arrays(ws, "m1")
        # a writer killed mid-append leaves bytes past the valid rows; the next append cuts them off
        vectors_file = index_folder(ws, "m1") / extended.stamp.generation / "vectors"
        with open(vectors_file, "ab") as handle:
            handle.write(b"\x7f" * 1000)
        _add(ws, "m1", range(1601, 1611), rng)
        assert len(open_index(ws, "m1")) == 1610
        assert _equal(_arrays(ws, "m1"), _clean(ws, "m1"))
        # a vector changed in SQLite: the index is rebuilt into a new generation with the new vector
        before = open_index(ws, "m1").stamp.generation
        changed = _vectors(rng, 1)
        ws.save_embeddings("m1", [3], changed)
        after = open_index(ws, "m1")
        assert after.stamp.generation != before
        assert np.array_equal(after.vectors[after.rows_of([3])[0][0]], changed[0])
        assert not (index_folder(ws, "m1") / before).exists()
        clean = _arrays(ws, "m1")
        # deleted, truncated, or an unreadable stamp: rebuilt to the same content
        shutil.rmtree(index_folder(ws, "m1"))
        assert _equal(_arrays(ws, "m1"), clean)
        generation = index_folder(ws, "m1") / open_index(ws, "m1").stamp.generation
        with open(generation / "vectors", "r+b") as handle:
            handle.truncate(100)
        assert _equal(_arrays(ws, "m1"), clean)
        (index_folder(ws, "m1") / "stamp.json").write_text("{not json")
        assert _equal(_arrays(ws, "m1"), clean)


def test_index_of_another_workspace_or_an_older_state_is_not_trusted(workspace: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    with Workspace(workspace) as ws:
        open_index(ws, "m1")
    shutil.copytree(workspace, tmp_path / "older")  # the database and its index as they are now
    with Workspace(workspace) as ws:
        _add(ws, "m1", range(1501, 1521), rng)
        sync_index(ws, "m1")
        newer = _arrays(ws, "m1")
    other = tmp_path / "other"
    with Workspace(other) as ws:
        ws.register_model("m1", "m1", "", "synthetic", DIM, {})
        _add(ws, "m1", range(1, 1501), rng)
    shutil.rmtree(other / "vector_index", ignore_errors=True)
    shutil.copytree(workspace / "vector_index", other / "vector_index")  # same model id, other vectors
    with Workspace(other) as ws:
        assert len(open_index(ws, "m1")) == 1500
        assert _equal(_arrays(ws, "m1"), _clean(ws, "m1"))
    # the newer index copied beside the older database: more rows than SQLite holds → rebuilt
    shutil.rmtree(tmp_path / "older" / "vector_index")
    shutil.copytree(workspace / "vector_index", tmp_path / "older" / "vector_index")
    with Workspace(tmp_path / "older") as ws:
        assert len(open_index(ws, "m1")) == 1500 and len(newer["ids"]) == 1520


def test_switching_the_active_model_switches_the_index(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        options = QueryOptions(top_k=10)
        with_m1 = [m.tracklet_id for m in query_workspace(ws, [7], options=options)]
        ws.set_meta("active_model", "m2")
        with_m2 = [m.tracklet_id for m in query_workspace(ws, [7], options=options)]
        assert with_m1 == [t for t, _ in brute_force(ws, "m1", [7], options)]
        assert with_m2 == [t for t, _ in brute_force(ws, "m2", [7], options)]
        assert with_m1 != with_m2
        assert index_folder(ws, "m1") != index_folder(ws, "m2") and index_folder(ws, "m2").is_dir()
        ws.delete_model("m2")
        assert [m.tracklet_id for m in query_workspace(ws, [7], options=options)] == with_m1
