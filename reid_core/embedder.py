"""Tracklet → (f, per-frame gate heatmaps), over any length, with bounded memory.

The backbone runs on chunks of ``chunk_size`` frames; the RRU recurrence and the temporal
head carry their state across chunks, so a 5,000-frame tracklet costs the memory of one
chunk. The same driver runs on two engines: PyTorch (CPU/CUDA) and onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch.nn import functional as F

from reid_core.backbones import BackboneSpec
from reid_core.model import ReIDModel
from reid_core.temporal import TemporalPool

DEFAULT_CHUNK = 32


@dataclass
class TrackletEmbedding:
    feature: np.ndarray  # D float32, as the model outputs it (not normalised)
    heatmaps: np.ndarray | None  # T×h×w float16 in (0, 1): channel mean of Z_t; None without RRU

    @property
    def unit_feature(self) -> np.ndarray:
        return self.feature / max(float(np.linalg.norm(self.feature)), 1e-12)


class EmbeddingStages(Protocol):
    """The three pieces an engine must provide for the shared driver."""

    spec: BackboneSpec
    has_rru: bool

    def maps(self, frames: torch.Tensor) -> torch.Tensor:
        """N×3×H×W normalised frames → N×C×h×w raw maps X."""

    def refine(self, x_prev: torch.Tensor, s_prev: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One RRU step on 1×C×h×w maps → (S_t, channel mean of Z_t as 1×h×w)."""

    def pool(self) -> TemporalPool: ...


class TorchStages:
    def __init__(self, model: ReIDModel, device: torch.device, amp: bool = False) -> None:
        self.model = model.eval().to(device)
        self.device = device
        self.spec = model.spec
        self.has_rru = model.rru is not None
        self.amp = amp and device.type == "cuda"

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp)

    def maps(self, frames: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self.model.backbone.features(frames.to(self.device)).float()

    def refine(self, x_prev, s_prev, x):  # type: ignore[no-untyped-def]
        assert self.model.rru is not None
        s, z = self.model.rru.step(x_prev, s_prev, x)
        return s, z.mean(dim=1)

    def pool(self) -> TemporalPool:
        return self.model.temporal.stream()


def preprocess(crops: Sequence[np.ndarray], spec: BackboneSpec) -> torch.Tensor:
    """RGB uint8 crops (any sizes) → N×3×H×W normalised at the backbone's input size."""
    mean = torch.tensor(spec.mean).view(3, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1)
    resized = []
    for crop in crops:
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 RGB crop, got shape {crop.shape}")
        image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float().unsqueeze(0) / 255.0
        image = F.interpolate(image, size=spec.input_size, mode="bilinear", antialias=True, align_corners=False)
        resized.append((image[0] - mean) / std)
    return torch.stack(resized)


class Embedder:
    """Embeds tracklets (sequences of RGB crops) with any engine that provides the stages."""

    def __init__(self, stages: EmbeddingStages, chunk_size: int = DEFAULT_CHUNK) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self.stages = stages
        self.chunk_size = chunk_size

    @classmethod
    def from_model(
        cls, model: ReIDModel, device: str | torch.device = "cpu", chunk_size: int = DEFAULT_CHUNK, amp: bool = True
    ) -> Embedder:
        return cls(TorchStages(model, torch.device(device), amp=amp), chunk_size)

    @property
    def spec(self) -> BackboneSpec:
        return self.stages.spec

    @torch.inference_mode()
    def embed(self, crops: Sequence[np.ndarray]) -> TrackletEmbedding:
        """Embed one tracklet of RGB crops; chunks are resized lazily, one chunk in memory."""
        chunks = (preprocess(crops[i : i + self.chunk_size], self.spec) for i in range(0, len(crops), self.chunk_size))
        return self.embed_frames(chunks)

    @torch.inference_mode()
    def embed_frames(self, chunks: Iterable[torch.Tensor]) -> TrackletEmbedding:
        """Embed from an iterable of already-normalised N×3×H×W chunks."""
        state = _TrackletState(self.stages)
        for frames in chunks:
            for start in range(0, frames.shape[0], self.chunk_size):
                state.push(self.stages.maps(frames[start : start + self.chunk_size]))
        return state.result()

    @torch.inference_mode()
    def embed_many(self, tracklets: Sequence[Sequence[np.ndarray]]) -> list[TrackletEmbedding]:
        """Embed several tracklets, packing short ones into shared backbone batches of ≤ chunk_size frames."""
        results: list[TrackletEmbedding | None] = [None] * len(tracklets)
        pending: list[int] = []
        pending_frames = 0

        def flush() -> None:
            if not pending:
                return
            frames = preprocess([crop for i in pending for crop in tracklets[i]], self.spec)
            maps = self.stages.maps(frames)
            offset = 0
            for i in pending:
                state = _TrackletState(self.stages)
                state.push(maps[offset : offset + len(tracklets[i])])
                offset += len(tracklets[i])
                results[i] = state.result()
            pending.clear()

        for index, crops in enumerate(tracklets):
            if len(crops) > self.chunk_size:
                results[index] = self.embed(crops)
                continue
            if pending_frames + len(crops) > self.chunk_size:
                flush()
                pending_frames = 0
            pending.append(index)
            pending_frames += len(crops)
        flush()
        return [r for r in results if r is not None]


class _TrackletState:
    """The recurrence and pooling state of one tracklet while its maps arrive chunk by chunk."""

    def __init__(self, stages: EmbeddingStages) -> None:
        self.stages = stages
        self.pool = stages.pool()
        self.heatmaps: list[torch.Tensor] = []
        self.x_prev: torch.Tensor | None = None
        self.s_prev: torch.Tensor | None = None
        self.frames = 0

    def push(self, maps: torch.Tensor) -> None:
        self.frames += maps.shape[0]
        if self.stages.has_rru:
            if self.x_prev is None:
                self.x_prev = self.s_prev = maps[:1]  # X_0 = S_0 = X_1
            refined = []
            for t in range(maps.shape[0]):
                self.s_prev, heat = self.stages.refine(self.x_prev, self.s_prev, maps[t : t + 1])
                self.x_prev = maps[t : t + 1]
                refined.append(self.s_prev)
                self.heatmaps.append(heat.float().cpu())
            maps = torch.cat(refined)
        self.pool.push(maps)

    def result(self) -> TrackletEmbedding:
        if self.frames == 0:
            raise ValueError("cannot embed an empty tracklet")
        feature = self.pool.result().float().cpu().numpy().reshape(-1)
        gate_maps = torch.cat(self.heatmaps).numpy().astype(np.float16) if self.heatmaps else None
        return TrackletEmbedding(feature=feature, heatmaps=gate_maps)
