"""Sequence-level heads that turn per-frame maps into one vector f (Table 1 rows).

Each head has a batch ``forward`` for training (B×T×C×H×W → B×D) and a ``stream`` that
accepts the same frames chunk by chunk and returns exactly the same f, so inference over
thousands of frames keeps only one chunk of maps in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import nn

STIM_CHANNELS = 256
LSTM_HIDDEN = 256


class TemporalPool(Protocol):
    """A streaming accumulator for B tracklets stepped together; ``result`` gives their B×D vectors.

    Rows are the tracklets, longest first. Each ``push`` gets ``maps`` n×K×C×H×W for the first n
    rows (the ones still running; n only shrinks), where row b holds ``lengths[b]`` real frames
    followed by zeros, and ``ends[b]`` says the row's last frame is in this push.
    """

    def push(self, maps: torch.Tensor, lengths: Sequence[int], ends: Sequence[bool]) -> None: ...

    def result(self) -> torch.Tensor: ...


def valid_frames(maps: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """The real frames of a padded n×K×... batch, row after row: (Σ lengths)×..."""
    return torch.cat([maps[row, :length] for row, length in enumerate(lengths)])


def padded(frames: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """Inverse of ``valid_frames``: rows of ``lengths`` frames into an n×max(lengths)×... batch, zeros after."""
    out = frames.new_zeros(len(lengths), max(lengths), *frames.shape[1:])
    offset = 0
    for row, length in enumerate(lengths):
        out[row, :length] = frames[offset : offset + length]
        offset += length
    return out


class MeanPoolHead(nn.Module):
    """Baseline: mean over time and space of the maps."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_dim = channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return maps.mean(dim=(1, 3, 4))

    def stream(self, count: int) -> TemporalPool:
        return _MeanStream(count)


class _MeanStream:
    def __init__(self, count: int) -> None:
        self.count = count
        self.total: torch.Tensor | None = None
        self.frames = torch.zeros(count)

    def push(self, maps: torch.Tensor, lengths: Sequence[int], ends: Sequence[bool]) -> None:
        if self.total is None:
            self.total = maps.new_zeros(self.count, maps.shape[2])
        rows = len(lengths)
        self.total[:rows] += maps.mean(dim=(3, 4)).sum(dim=1)  # padding frames are zeros: they add nothing
        self.frames[:rows] += torch.tensor(lengths, dtype=self.frames.dtype)

    def result(self) -> torch.Tensor:
        assert self.total is not None, "no frames were pushed"
        return self.total / self.frames.to(self.total.device).unsqueeze(1)


class LSTMHead(nn.Module):
    """LSTM(256) over per-frame pooled features, outputs averaged over time."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, LSTM_HIDDEN, batch_first=True)
        self.out_dim = LSTM_HIDDEN

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(maps.mean(dim=(3, 4)))
        return outputs.mean(dim=1)

    def stream(self, count: int) -> TemporalPool:
        return _LSTMStream(self.lstm, count)


class _LSTMStream:
    """One LSTM state per row (not the default head: rows are stepped one after another)."""

    def __init__(self, lstm: nn.LSTM, count: int) -> None:
        self.lstm = lstm
        self.states: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * count
        self.totals: list[torch.Tensor | None] = [None] * count
        self.frames = [0] * count

    def push(self, maps: torch.Tensor, lengths: Sequence[int], ends: Sequence[bool]) -> None:
        pooled = maps.mean(dim=(3, 4))
        for row, length in enumerate(lengths):
            outputs, self.states[row] = self.lstm(pooled[row : row + 1, :length], self.states[row])
            total = self.totals[row]
            self.totals[row] = outputs[0].sum(dim=0) if total is None else total + outputs[0].sum(dim=0)
            self.frames[row] += length

    def result(self) -> torch.Tensor:
        assert all(t is not None for t in self.totals), "no frames were pushed"
        return torch.stack([t / n for t, n in zip(self.totals, self.frames)])


class STIM(nn.Module):
    """Spatial-Temporal clues Integration Module (Eq. 6).

    Conv3d 1×1×1 (C→256)+BN+ReLU, Conv3d 3×3×3 (256→256, pad 1)+BN+ReLU, mean over T, H, W.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pointwise = nn.Sequential(
            nn.Conv3d(channels, STIM_CHANNELS, kernel_size=1, bias=False),
            nn.BatchNorm3d(STIM_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.spatiotemporal = nn.Sequential(
            nn.Conv3d(STIM_CHANNELS, STIM_CHANNELS, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm3d(STIM_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.out_dim = STIM_CHANNELS

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        volume = maps.permute(0, 2, 1, 3, 4)  # B×C×T×H×W
        return self.spatiotemporal(self.pointwise(volume)).mean(dim=(2, 3, 4))

    def project(self, maps: torch.Tensor) -> torch.Tensor:
        """Per-frame 1×1×1 stage on T'×C×H×W → T'×256×H×W (exact per frame in eval mode)."""
        return self.pointwise(maps.transpose(0, 1).unsqueeze(0))[0].transpose(0, 1)

    def window_sums(self, projected: torch.Tensor) -> torch.Tensor:
        """3×3×3 stage on windows B×L×256×H×W with no temporal padding.

        Returns the spatial sums of O for the L−2 middle frames of each window: B×(L−2)×256.
        """
        conv, norm, relu = self.spatiotemporal
        volume = projected.transpose(1, 2)  # B×256×L×H×W
        out = nn.functional.conv3d(volume, conv.weight, None, stride=1, padding=(0, 1, 1))
        return relu(norm(out)).sum(dim=(3, 4)).transpose(1, 2)

    def stream(self, count: int) -> TemporalPool:
        return StimStream(self.project, self.window_sums, count)


class StimStream:
    """Exact streaming STIM for B rows: keeps a two-frame halo so the 3-frame conv sees its neighbours.

    The batch STIM pads time with zeros at both ends. Each push convolves [halo, frames, one zero
    frame]: a row's frame is summed once its right neighbour is known, i.e. in the same push
    unless it is the last frame of a row that goes on; a row's zero padding (or the extra zero
    frame) is exactly the closing zero of its tracklet. So f equals ``STIM.forward`` per row.
    """

    def __init__(self, project, window_sums, count: int) -> None:
        self.project = project
        self.window_sums = window_sums
        self.count = count
        self.halo: torch.Tensor | None = None  # n×(1 or 2)×256×H×W: the frames before this push
        self.total: torch.Tensor | None = None  # count×256
        self.cells = torch.zeros(count)  # frames × H × W seen per row

    def push(self, maps: torch.Tensor, lengths: Sequence[int], ends: Sequence[bool]) -> None:
        rows = len(lengths)
        projected = padded(self.project(valid_frames(maps, lengths)), lengths)
        if self.halo is None:
            self.halo = torch.zeros_like(projected[:, :1])
            self.total = projected.new_zeros(self.count, projected.shape[2])
        halo = self.halo[:rows]
        window = torch.cat([halo, projected, torch.zeros_like(projected[:, :1])], dim=1)
        sums = self.window_sums(window)  # centres: halo[-1] (if a real frame), then every frame of the push
        first = halo.shape[1] - 1  # the zero frame that starts a tracklet is no centre
        for row, (length, end) in enumerate(zip(lengths, ends)):
            done = first + length - (0 if end else 1)
            self.total[row] += sums[row, :done].sum(dim=0)
        self.halo = torch.cat([halo, projected], dim=1)[:, -2:]
        self.cells[:rows] += torch.tensor(lengths, dtype=self.cells.dtype) * maps.shape[3] * maps.shape[4]

    def result(self) -> torch.Tensor:
        assert self.total is not None, "no frames were pushed"
        return self.total / self.cells.to(self.total.device).unsqueeze(1)


def create_temporal_head(kind: str, channels: int) -> nn.Module:
    heads = {"mean": MeanPoolHead, "lstm": LSTMHead, "stim": STIM}
    if kind not in heads:
        raise ValueError(f"unknown temporal head {kind!r}; choose one of {sorted(heads)}")
    return heads[kind](channels)
