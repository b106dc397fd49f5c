"""Tracklets → (f, per-frame gate heatmaps), batched across tracklets, over any length, with bounded memory.

``embed_many`` sorts tracklets by length and steps up to ``max_tracklets`` of them together:
each round takes the next few frames of every tracklet still running (about ``chunk_size``
frames in all), runs the backbone on them in one batch, steps the RRU recurrence for all rows
at once (row b drops out when its tracklet ends: rows are longest first, so the running ones
are always a prefix) and feeds the temporal head's streaming state. Memory is that of one
round whatever the lengths. The same driver runs on two engines: PyTorch (CPU/CUDA) and
onnxruntime; each tracklet's result equals embedding it alone (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import torch
from torch.nn import functional as F

from reid_core.backbones import BackboneSpec
from reid_core.model import ReIDModel
from reid_core.temporal import TemporalPool, padded

# The batch sizes of embedding, here only (callers pick one of these, not a number of their own):
DEFAULT_CHUNK = 32  # frames per backbone batch: one tracklet at a time, evaluation, training's checks
WORKSPACE_CHUNK = 64  # frames per backbone batch when ``reid embed`` runs many tracklets at once
DEFAULT_TRACKLETS = 16  # tracklets one embed_many round runs side by side

Preprocess = Callable[[Sequence[np.ndarray], BackboneSpec], torch.Tensor]


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
        """One RRU step on B×C×h×w maps → (S_t, channel mean of Z_t as B×h×w)."""

    def pool(self, count: int) -> TemporalPool: ...


class TorchStages:
    """PyTorch engine; on CUDA the backbone runs channels-last under float16 autocast (``amp``)."""

    def __init__(self, model: ReIDModel, device: torch.device, amp: bool = False) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.model = model.eval().to(device)
        if self.cuda:  # channels-last suits cuDNN's float16 convolutions; the 5-D STIM weights stay as they are
            self.model.backbone.to(memory_format=torch.channels_last)
        self.spec = model.spec
        self.has_rru = model.rru is not None
        self.amp = amp and self.cuda

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp)

    def maps(self, frames: torch.Tensor) -> torch.Tensor:
        if self.cuda:
            frames = frames.pin_memory().to(self.device, non_blocking=True)
            frames = frames.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return self.model.backbone.features(frames).float().contiguous()

    def refine(self, x_prev, s_prev, x):
        assert self.model.rru is not None
        s, z = self.model.rru.step(x_prev, s_prev, x)
        return s, z.mean(dim=1)

    def pool(self, count: int) -> TemporalPool:
        return self.model.temporal.stream(count)


@lru_cache(maxsize=1024)
def resize_matrix(source: int, target: int) -> torch.Tensor:
    """target×source weights of torch's antialiased bilinear resize along one axis (its response to each pixel)."""
    impulses = torch.eye(source).view(1, 1, source, source)
    return F.interpolate(impulses, size=(target, source), mode="bilinear", antialias=True, align_corners=False)[0, 0]


def _padded_weights(source: int, target: int, padded_to: int) -> torch.Tensor:
    """``resize_matrix`` with zero columns for the padding after a crop's ``source`` pixels."""
    weights = resize_matrix(source, target)
    return weights if source == padded_to else F.pad(weights, (0, padded_to - source))


def preprocess(crops: Sequence[np.ndarray], spec: BackboneSpec) -> torch.Tensor:
    """RGB uint8 crops (any sizes) → N×3×H×W normalised at the backbone's input size, in one batch.

    The antialiased bilinear resize is separable and linear, so each crop is resized by two
    matrix products with that resize's own weights (``resize_matrix``); crops are zero-padded
    to the batch's largest size and the padding gets zero weight; an axis every crop already has
    at the model's size is left alone (the resize is the identity there). Equal to ``preprocess_reference``
    within float rounding (tested).
    """
    if not crops:
        return torch.zeros(0, 3, *spec.input_size)
    for crop in crops:
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 RGB crop, got shape {crop.shape}")
    out_h, out_w = spec.input_size
    heights, widths = [c.shape[0] for c in crops], [c.shape[1] for c in crops]
    pixels = np.zeros((len(crops), max(heights), max(widths), 3), np.float32)
    for i, crop in enumerate(crops):
        pixels[i, : crop.shape[0], : crop.shape[1]] = crop
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # N×3×h×w (a view)
    if set(widths) != {out_w}:  # crops stored at the model's size (ingest's default) skip the identity products
        images = images @ torch.stack([_padded_weights(w, out_w, pixels.shape[2]).T for w in widths]).unsqueeze(1)
    if set(heights) != {out_h}:
        images = torch.stack([_padded_weights(h, out_h, pixels.shape[1]) for h in heights]).unsqueeze(1) @ images
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return ((images / 255.0 - mean) / std).contiguous()


def preprocess_reference(crops: Sequence[np.ndarray], spec: BackboneSpec) -> torch.Tensor:
    """The definition ``preprocess`` follows: each crop resized on its own by ``F.interpolate`` (slow)."""
    mean = torch.tensor(spec.mean).view(3, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1)
    resized = []
    for crop in crops:
        image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float().unsqueeze(0) / 255.0
        image = F.interpolate(image, size=spec.input_size, mode="bilinear", antialias=True, align_corners=False)
        resized.append((image[0] - mean) / std)
    return torch.stack(resized)


class Embedder:
    """Embeds tracklets (sequences of RGB crops) with any engine that provides the stages.

    ``chunk_size`` bounds the frames of one backbone batch (and of one round of the driver);
    ``max_tracklets`` bounds the tracklets stepped together. ``preprocess`` may be swapped
    (the benchmark swaps in ``preprocess_reference`` to time the old way).
    """

    def __init__(
        self, stages: EmbeddingStages, chunk_size: int = DEFAULT_CHUNK, max_tracklets: int = DEFAULT_TRACKLETS
    ) -> None:
        if chunk_size < 1 or max_tracklets < 1:
            raise ValueError("chunk_size and max_tracklets must be at least 1")
        self.stages = stages
        self.chunk_size = chunk_size
        self.max_tracklets = max_tracklets
        self.preprocess: Preprocess = preprocess

    @classmethod
    def from_model(
        cls,
        model: ReIDModel,
        device: str | torch.device = "cpu",
        chunk_size: int = DEFAULT_CHUNK,
        amp: bool = True,
        max_tracklets: int = DEFAULT_TRACKLETS,
    ) -> Embedder:
        return cls(TorchStages(model, torch.device(device), amp=amp), chunk_size, max_tracklets)

    @property
    def spec(self) -> BackboneSpec:
        return self.stages.spec

    def embed(self, crops: Sequence[np.ndarray]) -> TrackletEmbedding:
        """Embed one tracklet of RGB crops."""
        return self.embed_many([crops])[0]

    @torch.inference_mode()
    def embed_many(self, tracklets: Sequence[Sequence[np.ndarray]]) -> list[TrackletEmbedding]:
        """Embed several tracklets (in their order); groups of similar lengths are stepped together."""
        if any(len(crops) == 0 for crops in tracklets):
            raise ValueError("cannot embed an empty tracklet")
        order = sorted(range(len(tracklets)), key=lambda i: -len(tracklets[i]))
        results: list[TrackletEmbedding | None] = [None] * len(tracklets)
        for start in range(0, len(order), self.max_tracklets):
            group = order[start : start + self.max_tracklets]
            for index, result in zip(group, self._embed_group([tracklets[i] for i in group]), strict=True):
                results[index] = result
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:  # a bug, never a silent gap: every tracklet asked for gets its embedding
            raise RuntimeError(f"tracklets {missing} were not embedded")
        return [result for result in results if result is not None]

    def _embed_group(self, group: Sequence[Sequence[np.ndarray]]) -> list[TrackletEmbedding]:
        """Tracklets sorted longest first, stepped together round by round."""
        lengths = [len(crops) for crops in group]
        state = _GroupState(self.stages, len(group))
        done = 0  # frames of the longest tracklet already embedded: every running row is at the same step
        while done < lengths[0]:
            running = sum(length > done for length in lengths)
            step = max(1, self.chunk_size // running)
            counts = [min(step, length - done) for length in lengths[:running]]
            crops = [crop for row, n in enumerate(counts) for crop in group[row][done : done + n]]
            frames = self.preprocess(crops, self.spec)
            maps = torch.cat(
                [self.stages.maps(frames[i : i + self.chunk_size]) for i in range(0, frames.shape[0], self.chunk_size)]
            )
            state.push(maps, counts, [done + n == length for n, length in zip(counts, lengths)])
            done += step
        return state.results()


class _GroupState:
    """The recurrence and pooling state of a group of tracklets while their maps arrive round by round."""

    def __init__(self, stages: EmbeddingStages, count: int) -> None:
        self.stages = stages
        self.pool = stages.pool(count)
        self.heatmaps: list[list[torch.Tensor]] = [[] for _ in range(count)]
        self.x_prev: torch.Tensor | None = None  # rows still running × C×h×w
        self.s_prev: torch.Tensor | None = None

    def push(self, maps: torch.Tensor, counts: Sequence[int], ends: Sequence[bool]) -> None:
        """``maps``: the round's frames row after row (row b: counts[b] frames; counts do not increase)."""
        batch = padded(maps, counts)  # rows × K × C×h×w, zeros after each row's frames
        if self.stages.has_rru:
            batch = self._refine(batch, counts)
        self.pool.push(batch, counts, ends)

    def _refine(self, batch: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
        if self.x_prev is None:
            self.x_prev = self.s_prev = batch[:, 0]  # X_0 = S_0 = X_1
        assert self.s_prev is not None
        x_prev, s_prev = self.x_prev, self.s_prev
        refined = torch.zeros_like(batch)
        heat = batch.new_zeros(batch.shape[0], batch.shape[1], *batch.shape[3:])
        for t in range(batch.shape[1]):
            rows = sum(count > t for count in counts)
            x = batch[:rows, t]
            s_prev, heat[:rows, t] = self.stages.refine(x_prev[:rows], s_prev[:rows], x)
            x_prev = x
            refined[:rows, t] = s_prev
        self.x_prev, self.s_prev = x_prev, s_prev
        heat = heat.float().cpu()
        for row, count in enumerate(counts):
            self.heatmaps[row].append(heat[row, :count])
        return refined

    def results(self) -> list[TrackletEmbedding]:
        features = self.pool.result().float().cpu().numpy()
        return [
            TrackletEmbedding(
                feature=feature,
                heatmaps=torch.cat(maps).numpy().astype(np.float16) if self.stages.has_rru else None,
            )
            for feature, maps in zip(features, self.heatmaps)
        ]
