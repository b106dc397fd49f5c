"""Sequence-level heads that turn per-frame maps into one vector f (Table 1 rows).

Each head has a batch ``forward`` for training (B×T×C×H×W → B×D) and a ``stream`` that
accepts the same frames chunk by chunk and returns exactly the same f, so inference over
thousands of frames keeps only one chunk of maps in memory.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

STIM_CHANNELS = 256
LSTM_HIDDEN = 256


class TemporalPool(Protocol):
    """A streaming accumulator: push chunks of maps (T'×C×H×W), then read f."""

    def push(self, maps: torch.Tensor) -> None: ...

    def result(self) -> torch.Tensor: ...


class MeanPoolHead(nn.Module):
    """Baseline: mean over time and space of the maps."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_dim = channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return maps.mean(dim=(1, 3, 4))

    def stream(self) -> TemporalPool:
        return _MeanStream()


class _MeanStream:
    def __init__(self) -> None:
        self.total: torch.Tensor | None = None
        self.frames = 0

    def push(self, maps: torch.Tensor) -> None:
        chunk_sum = maps.mean(dim=(2, 3)).sum(dim=0)
        self.total = chunk_sum if self.total is None else self.total + chunk_sum
        self.frames += maps.shape[0]

    def result(self) -> torch.Tensor:
        assert self.total is not None, "no frames were pushed"
        return self.total / self.frames


class LSTMHead(nn.Module):
    """LSTM(256) over per-frame pooled features, outputs averaged over time."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, LSTM_HIDDEN, batch_first=True)
        self.out_dim = LSTM_HIDDEN

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(maps.mean(dim=(3, 4)))
        return outputs.mean(dim=1)

    def stream(self) -> TemporalPool:
        return _LSTMStream(self.lstm)


class _LSTMStream:
    def __init__(self, lstm: nn.LSTM) -> None:
        self.lstm = lstm
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.total: torch.Tensor | None = None
        self.frames = 0

    def push(self, maps: torch.Tensor) -> None:
        outputs, self.state = self.lstm(maps.mean(dim=(2, 3)).unsqueeze(0), self.state)
        chunk_sum = outputs[0].sum(dim=0)
        self.total = chunk_sum if self.total is None else self.total + chunk_sum
        self.frames += maps.shape[0]

    def result(self) -> torch.Tensor:
        assert self.total is not None, "no frames were pushed"
        return self.total / self.frames


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
        """3×3×3 stage on a window L×256×H×W with no temporal padding.

        Returns the spatial sums of O for the L−2 middle frames: (L−2)×256.
        """
        conv, norm, relu = self.spatiotemporal
        volume = projected.transpose(0, 1).unsqueeze(0)
        out = nn.functional.conv3d(volume, conv.weight, None, stride=1, padding=(0, 1, 1))
        return relu(norm(out))[0].sum(dim=(2, 3)).transpose(0, 1)

    def stream(self) -> TemporalPool:
        return StimStream(self.project, self.window_sums)


class StimStream:
    """Exact streaming STIM: keeps a two-frame halo so the 3-frame conv sees its neighbours.

    The batch STIM pads time with zeros at both ends; this reproduces that by starting the
    halo with one zero frame and closing with one, so f is identical to ``STIM.forward``.
    """

    def __init__(self, project, window_sums) -> None:  # type: ignore[no-untyped-def]
        self.project = project
        self.window_sums = window_sums
        self.halo: torch.Tensor | None = None
        self.total: torch.Tensor | None = None
        self.cells = 0  # frames × H × W seen

    def _add(self, sums: torch.Tensor) -> None:
        if sums.shape[0] == 0:
            return
        chunk_sum = sums.sum(dim=0)
        self.total = chunk_sum if self.total is None else self.total + chunk_sum

    def push(self, maps: torch.Tensor) -> None:
        projected = self.project(maps)
        if self.halo is None:
            self.halo = torch.zeros_like(projected[:1])
        window = torch.cat([self.halo, projected], dim=0)
        if window.shape[0] >= 3:
            self._add(self.window_sums(window))
        self.halo = window[-2:]
        self.cells += maps.shape[0] * maps.shape[2] * maps.shape[3]

    def result(self) -> torch.Tensor:
        assert self.halo is not None, "no frames were pushed"
        self._add(self.window_sums(torch.cat([self.halo, torch.zeros_like(self.halo[:1])], dim=0)))
        assert self.total is not None
        return self.total / self.cells


def create_temporal_head(kind: str, channels: int) -> nn.Module:
    heads = {"mean": MeanPoolHead, "lstm": LSTMHead, "stim": STIM}
    if kind not in heads:
        raise ValueError(f"unknown temporal head {kind!r}; choose one of {sorted(heads)}")
    return heads[kind](channels)
