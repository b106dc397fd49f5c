"""Streaming inference over tracklets of any length, batched across tracklets, bounded memory, ONNX parity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reid_core.embedder import Embedder, preprocess, preprocess_reference
from reid_core.model import ModelConfig, ReIDModel, variant_config
from reid_core.onnx_engine import MANIFEST, OnnxStages, export_onnx, is_current_export, onnx_embedder

PROBE = Path(__file__).with_name("peak_memory_probe.py")


def randomise_batchnorm(model: ReIDModel) -> ReIDModel:
    """Non-trivial running statistics, so eval-mode BN is not the identity."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.copy_(torch.rand(module.running_mean.shape, generator=generator) * 0.2 - 0.1)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
    return model.eval()


def random_crops(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 255, (int(rng.integers(40, 160)), int(rng.integers(20, 80)), 3), dtype=np.uint8)
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def model() -> ReIDModel:
    torch.manual_seed(0)
    return randomise_batchnorm(ReIDModel(ModelConfig()))


@pytest.mark.parametrize("variant", ["rru_stim", "rru_lstm", "baseline", "stim"])
def test_streaming_equals_whole_sequence_forward(variant: str) -> None:
    torch.manual_seed(1)
    net = randomise_batchnorm(ReIDModel(variant_config(variant)))
    crops = random_crops(11)
    streamed = Embedder.from_model(net, chunk_size=4).embed(crops)
    with torch.no_grad():
        whole = net(preprocess_reference(crops, net.spec).unsqueeze(0))
    np.testing.assert_allclose(streamed.feature, whole.f[0].numpy(), atol=1e-5)
    if whole.gates is not None:
        np.testing.assert_allclose(streamed.heatmaps, whole.gates[0].mean(dim=1).numpy(), atol=1e-3)
    else:
        assert streamed.heatmaps is None


def test_result_does_not_depend_on_chunk_size(model: ReIDModel) -> None:
    crops = random_crops(20, seed=2)
    results = [Embedder.from_model(model, chunk_size=size).embed(crops) for size in (1, 7, 64)]
    for other in results[1:]:
        np.testing.assert_allclose(other.feature, results[0].feature, atol=1e-5)
        np.testing.assert_array_equal(other.heatmaps, results[0].heatmaps)


def test_one_frame_tracklet(model: ReIDModel) -> None:
    result = Embedder.from_model(model).embed(random_crops(1))
    assert result.feature.shape == (256,) and np.isfinite(result.feature).all()
    assert result.heatmaps.shape == (1, 8, 4) and result.heatmaps.dtype == np.float16
    assert float(result.heatmaps.min()) > 0.0 and float(result.heatmaps.max()) < 1.0
    assert np.linalg.norm(result.unit_feature) == pytest.approx(1.0, abs=1e-5)


def test_empty_tracklet_is_refused(model: ReIDModel) -> None:
    with pytest.raises(ValueError, match="empty tracklet"):
        Embedder.from_model(model).embed([])


def peak_rss_mib(frames: int, chunk: int) -> float:
    done = subprocess.run(
        [sys.executable, str(PROBE), str(frames), str(chunk)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_long_tracklet_memory_is_bounded_by_the_chunk() -> None:
    long_run = peak_rss_mib(300, 16)
    short_run = peak_rss_mib(40, 16)
    unchunked = peak_rss_mib(120, 120)
    # 7.5× the frames at about the same peak: without chunking the 260 extra frames would cost
    # ~2 GB (unchunked: ~7.6 MiB per frame); allocator and kernel-cache noise is ~±100 MiB
    assert long_run < short_run + 160, (long_run, short_run)
    assert unchunked > 2.5 * long_run, (unchunked, long_run)  # 120 frames at once cost more than 300 chunked


@pytest.mark.slow
def test_onnx_engine_matches_torch_on_variable_lengths(model: ReIDModel, tmp_path: Path) -> None:
    folder = export_onnx(model, tmp_path / "onnx")
    assert is_current_export(folder)
    tracklets = [random_crops(length, seed=length) for length in (1, 2, 17, 40)]
    torch_results = Embedder.from_model(model, chunk_size=16).embed_many(tracklets)
    for expected, got in zip(torch_results, onnx_embedder(folder, chunk_size=16).embed_many(tracklets)):
        assert float(np.abs(expected.feature - got.feature).max()) <= 1e-4
        assert float(np.abs(expected.heatmaps.astype(np.float32) - got.heatmaps.astype(np.float32)).max()) <= 1e-3


def test_onnx_folder_of_an_older_format_is_stale_and_refused(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"config": {}, "spec": {}}')  # format 1 had no "format" key
    assert not is_current_export(folder) and not is_current_export(tmp_path / "missing")
    with pytest.raises(ValueError, match="older version"):
        OnnxStages(folder)


def test_onnx_export_refuses_variants_it_cannot_stream(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rru_stim"):
        export_onnx(ReIDModel(variant_config("rru_lstm")), tmp_path)


LENGTHS = (3, 1, 9, 21, 5, 12, 2, 9)


@pytest.mark.parametrize("variant", ["rru_stim", "rru_lstm", "baseline"])
def test_batched_tracklets_equal_each_whole_sequence_forward(variant: str) -> None:
    """Rows of different lengths stepped together (rows dropping out mid-round, rounds of a few
    frames) give each tracklet what the model's own whole-sequence forward gives it alone."""
    torch.manual_seed(3)
    net = randomise_batchnorm(ReIDModel(variant_config(variant)))
    tracklets = [random_crops(n, seed=10 + n) for n in LENGTHS]
    got = Embedder.from_model(net, chunk_size=16, max_tracklets=5).embed_many(tracklets)
    assert len(got) == len(tracklets)
    with torch.no_grad():
        for crops, result in zip(tracklets, got):
            whole = net(preprocess_reference(crops, net.spec).unsqueeze(0))
            np.testing.assert_allclose(result.feature, whole.f[0].numpy(), atol=1e-4)
            if whole.gates is None:
                assert result.heatmaps is None
            else:
                assert result.heatmaps.shape == (len(crops), 8, 4)
                np.testing.assert_allclose(result.heatmaps, whole.gates[0].mean(dim=1).numpy(), atol=1e-3)


def test_batched_tracklets_equal_one_by_one(model: ReIDModel) -> None:
    tracklets = [random_crops(n, seed=n) for n in LENGTHS]
    batched = Embedder.from_model(model, chunk_size=16).embed_many(tracklets)
    alone = Embedder.from_model(model, chunk_size=16, max_tracklets=1)
    for crops, got in zip(tracklets, batched):
        expected = alone.embed(crops)
        np.testing.assert_allclose(got.feature, expected.feature, atol=1e-4)
        np.testing.assert_allclose(got.heatmaps.astype(np.float32), expected.heatmaps.astype(np.float32), atol=2e-3)


def test_empty_tracklet_among_others_is_refused(model: ReIDModel) -> None:
    with pytest.raises(ValueError, match="empty tracklet"):
        Embedder.from_model(model).embed_many([random_crops(3), []])


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "omz_reid_0287"])
def test_vectorised_preprocess_equals_per_crop_resize(backbone: str) -> None:
    spec = ReIDModel(ModelConfig(backbone=backbone)).spec
    crops = [*random_crops(12, seed=5), np.full((600, 300, 3), 200, np.uint8), np.zeros((1, 1, 3), np.uint8)]
    got, expected = preprocess(crops, spec), preprocess_reference(crops, spec)
    assert got.shape == expected.shape == (14, 3, *spec.input_size)
    scale = float(expected.abs().max())
    assert float((got - expected).abs().max()) <= 1e-5 * scale
    at_size = [np.random.default_rng(i).integers(0, 255, (*spec.input_size, 3), dtype=np.uint8) for i in range(3)]
    fast_path, reference = preprocess(at_size, spec), preprocess_reference(at_size, spec)
    torch.testing.assert_close(fast_path, reference, rtol=1e-6, atol=1e-5 * scale)


def test_preprocess_refuses_a_crop_that_is_not_rgb() -> None:
    spec = ReIDModel(ModelConfig()).spec
    with pytest.raises(ValueError, match="H×W×3"):
        preprocess([np.zeros((10, 10), np.uint8)], spec)
