"""Embedding and cross-camera search on real footage in a real workspace."""

from __future__ import annotations

import shutil
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
from reid_core.workspace import Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO
from tests.conftest import shared_file

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
    # ~100 convolutions and instance norms: its unit vectors agree to ~7e-4 per component (6.6e-4
    # measured), which moves no ranking above (the strict 1e-4 stage parity is in reid_core's tests)
    assert float(np.abs(rankings["torch_vectors"] - rankings["onnx_vectors"]).max()) < 2e-3
