"""Embedding and cross-camera search on real footage in a real workspace."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import torch

from app.pipeline.embed import embed_workspace
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import QueryOptions, query_workspace
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.checkpoint import save_checkpoint
from reid_core.model import ModelConfig, ReIDModel
from reid_core.store.vector_index import index_folder, open_index
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO
from tests.conftest import REPO_ROOT, shared_file

CORRIDOR_STRIDE = 5  # 30 fps footage → 6 processed frames per second keeps the test short


@pytest.fixture(scope="module")
def corridor(tmp_path_factory) -> Path:
    """Cameras M and F see the same person; camera V (vtest.avi) shows other people."""
    front = shared_file("video/vut_corridor/s3_m_front_single.mp4")
    side = shared_file("video/vut_corridor/s3_f_side_single.mp4")
    folder = tmp_path_factory.mktemp("corridor")
    other = cut_clip(folder / "vtest_slice.avi", 0, 120, source=DEMO_VIDEO)
    strided = TrackletParams(frame_stride=CORRIDOR_STRIDE)
    with Workspace(folder / "ws") as ws:
        ingest_videos(ws, [front], camera="M", tracklet_params=strided)
        ingest_videos(ws, [side], camera="F", tracklet_params=strided)
        ingest_videos(ws, [other], camera="V")
        embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")
    return folder / "ws"


@pytest.mark.slow
def test_the_person_seen_by_camera_m_is_found_first_in_camera_f(corridor: Path) -> None:
    with Workspace(corridor) as ws:
        by_camera = {name: [t for t in ws.tracklets() if t.camera == name] for name in ("M", "F", "V")}
        assert by_camera["M"] and by_camera["F"] and len(by_camera["V"]) >= 3
        hits = 0
        for query in by_camera["M"]:
            matches = query_workspace(ws, [query.id], options=QueryOptions(top_k=5))
            assert {m.camera for m in matches} <= {"F", "V"}
            hits += matches[0].camera == "F"
        fraction = hits / len(by_camera["M"])
        print(f"rank-1 fraction of M tracklets with an F tracklet first: {hits}/{len(by_camera['M'])}")
        assert fraction >= 0.9


@pytest.mark.slow
def test_filters_restrict_cameras_and_time(corridor: Path) -> None:
    with Workspace(corridor) as ws:
        query = next(t for t in ws.tracklets() if t.camera == "M")
        only_v = query_workspace(ws, [query.id], options=QueryOptions(cameras=("V",)))
        assert only_v and {m.camera for m in only_v} == {"V"}
        with_own = query_workspace(ws, [query.id], options=QueryOptions(exclude_own_camera=False, top_k=50))
        assert query.id not in {m.tracklet_id for m in with_own}
        window = (0.0, 5.0)
        timed = query_workspace(ws, [query.id], options=QueryOptions(time_window=window, top_k=50))
        assert timed and all(m.end_time >= 0.0 and m.start_time <= 5.0 for m in timed)
        everything = query_workspace(ws, [query.id], options=QueryOptions(top_k=50))
        assert len(timed) < len(everything)
        assert [m.similarity for m in everything] == sorted((m.similarity for m in everything), reverse=True)


@pytest.mark.slow
def test_embedding_is_incremental_and_models_coexist(corridor: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(corridor, folder)
    torch.manual_seed(1)
    other = save_checkpoint(ReIDModel(ModelConfig()), tmp_path / "other.pt", {"name": "other"})
    with Workspace(folder) as ws:
        again = embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")
        assert again.embedded == 0 and again.already_done == ws.db["tracklets"].count
        second = embed_workspace(ws, other, "cpu")
        assert second.embedded == ws.db["tracklets"].count
        per_model = dict(ws.db.execute("SELECT model_id, count(*) FROM embeddings GROUP BY model_id").fetchall())
        assert per_model == {again.model_id: again.already_done, second.model_id: second.embedded}
        assert ws.gate_maps(1, second.model_id) is not None
        ws.delete_model(second.model_id)
        per_model = dict(ws.db.execute("SELECT model_id, count(*) FROM embeddings GROUP BY model_id").fetchall())
        assert per_model == {again.model_id: again.already_done}
        assert ws.db.execute("SELECT count(*) FROM gate_maps WHERE model_id = ?", [second.model_id]).fetchone()[0] == 0
        frames, heat = ws.gate_maps(1, again.model_id)
        assert heat.shape == (len(frames), 8, 4) and heat.dtype == np.float16
        assert frames == [f for f, _ in ws.crops(1)]


@pytest.mark.slow
def test_onnx_and_torch_engines_rank_alike(tmp_path: Path) -> None:
    clip_a = cut_clip(tmp_path / "a.avi", 0, 50, source=DEMO_VIDEO)
    clip_b = cut_clip(tmp_path / "b.avi", 300, 50, source=DEMO_VIDEO)
    with Workspace(tmp_path / "torch") as ws:
        ingest_videos(ws, [clip_a, clip_b], tracklet_params=TrackletParams(min_length=5))
    shutil.copytree(tmp_path / "torch", tmp_path / "onnx")
    rankings = {}
    for engine in ("torch", "onnx"):
        with Workspace(tmp_path / engine) as ws:
            embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu" if engine == "torch" else "onnx")
            rankings[engine] = {t.id: [m.tracklet_id for m in query_workspace(ws, [t.id])] for t in ws.tracklets()}
            vectors = ws.embeddings(ws.models()[0]["id"])[1]
            rankings[engine + "_vectors"] = vectors
    assert rankings["torch"] == rankings["onnx"]
    assert len(rankings["torch"]) >= 4
    # float32 kernels differ (oneDNN vs onnxruntime's MLAS) and the default's OMZ backbone chains
    # ~100 convolutions and instance norms: per component its unit vectors differed by 6.6e-4 in
    # one run and 3.5e-3 in another, which moved no ranking above; what a query sees is the cosine
    # (the strict 1e-4 stage parity on a MobileNetV2 model is in reid_core's tests)
    cosines = np.sum(rankings["torch_vectors"] * rankings["onnx_vectors"], axis=1)
    assert float(cosines.min()) > 0.999


def _stored_vectors(folder: Path, model_id: str) -> int:
    with closing(sqlite3.connect(f"file:{folder / 'workspace.sqlite'}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT COUNT(*) FROM embeddings WHERE model_id = ?", [model_id]).fetchone()
    return int(row[0])


@pytest.mark.slow
def test_vector_index_after_kill_during_embed_equals_a_clean_one(corridor: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(corridor, folder)
    with Workspace(folder) as ws:
        model_id = ws.models()[0]["id"]
        total = ws.tracklet_count()
        ws.delete_model(model_id)  # everything is to be embedded again
    # `reid embed` committing 4 tracklets at a time (the workspace has fewer than one default group)
    embed = (
        "import app.pipeline.embed as embed\nfrom app.cli import main\nembed.TRACKLETS_PER_COMMIT = 4\n"
        f"main(['embed', {str(folder)!r}, '--device', 'cpu'])"
    )
    process = subprocess.Popen([sys.executable, "-c", embed], cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    while process.poll() is None and _stored_vectors(folder, model_id) == 0:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # right after the first group committed
    process.wait()

    def index_arrays(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
        index = open_index(ws, model_id)
        order = np.argsort(index.ids)
        return np.asarray(index.ids)[order], np.asarray(index.vectors)[order]

    with Workspace(folder) as ws:
        stored_ids, stored = ws.embeddings(model_id)
        assert 0 < len(stored_ids) < total, "killed after the first group and before the last"
        ids, vectors = index_arrays(ws)
        assert np.array_equal(ids, stored_ids) and np.array_equal(vectors, stored)
        embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "cpu")  # resume: the index follows each commit
        resumed = index_arrays(ws)
        shutil.rmtree(index_folder(ws, model_id))
        clean = index_arrays(ws)
        assert len(clean[0]) == total
        assert np.array_equal(resumed[0], clean[0]) and np.array_equal(resumed[1], clean[1])
