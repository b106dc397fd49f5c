"""Refining Recurrent Unit (paper Eq. 1–5) and its Table 1 ablations.

At step t the unit reads X_{t-1}, S_{t-1} and X_t (with X_0 = S_0 = X_1), computes the
update gate Z = g(...) and refines S_t = (1 - Z) ⊙ S_{t-1} + Z ⊙ X_t.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

GateAttention = Literal["both", "spatial", "channel"]  # RRU, RRU(s), RRU(c)
GateInput = Literal["diff", "appearance", "original"]  # RRU, RRU(ad), RRU(od)

TRANSITION_CHANNELS = 256
SPATIAL_HIDDEN = 128


class UpdateGate(nn.Module):
    """The update gate model g: transition layer, spatial and channel attention, sigmoid."""

    def __init__(
        self,
        channels: int,
        map_size: tuple[int, int],
        attention: GateAttention = "both",
        gate_input: GateInput = "diff",
    ) -> None:
        super().__init__()
        self.channels = channels
        self.map_size = map_size
        self.attention = attention
        self.gate_input = gate_input
        in_channels = channels if gate_input == "appearance" else 2 * channels
        self.transition = nn.Sequential(
            nn.Conv2d(in_channels, TRANSITION_CHANNELS, kernel_size=1, bias=False),
            nn.BatchNorm2d(TRANSITION_CHANNELS),
            nn.ReLU(inplace=True),
        )
        area = map_size[0] * map_size[1]
        self.spatial = (
            nn.Sequential(nn.Linear(area, SPATIAL_HIDDEN), nn.ReLU(inplace=True), nn.Linear(SPATIAL_HIDDEN, area))
            if attention in ("both", "spatial")
            else None
        )
        self.channel = nn.Linear(TRANSITION_CHANNELS, channels) if attention in ("both", "channel") else None

    def gate_input_maps(self, x_prev: torch.Tensor, s_prev: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Zi of Eq. 1 (or its ablated forms)."""
        if self.gate_input == "diff":
            return torch.cat([x - s_prev, x - x_prev], dim=1)
        if self.gate_input == "appearance":
            return x - s_prev
        return torch.cat([x, s_prev], dim=1)

    def forward(self, zi: torch.Tensor) -> torch.Tensor:
        """Z (B×C×H×W, in (0, 1)) from Zi (B×C'×H×W)."""
        zt = self.transition(zi)
        batch, _, height, width = zt.shape
        logits = torch.ones((), dtype=zt.dtype, device=zt.device)
        if self.spatial is not None:
            zs = self.spatial(zt.mean(dim=1).flatten(1))  # Eq. 2: cross-channel mean → FC 128 → ReLU → FC H·W
            logits = logits * zs.view(batch, 1, height, width)
        if self.channel is not None:
            zc = self.channel(zt.mean(dim=(2, 3)))  # Eq. 3: spatial mean → FC C
            logits = logits * zc.view(batch, self.channels, 1, 1)
        return torch.sigmoid(logits.expand(batch, self.channels, height, width))  # Eq. 4


class RRU(nn.Module):
    """Runs the update gate over a sequence; returns every S_t and every Z_t."""

    def __init__(
        self,
        channels: int,
        map_size: tuple[int, int],
        attention: GateAttention = "both",
        gate_input: GateInput = "diff",
    ) -> None:
        super().__init__()
        self.gate = UpdateGate(channels, map_size, attention, gate_input)

    def step(self, x_prev: torch.Tensor, s_prev: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One recurrence step (Eq. 1, 4, 5): returns (S_t, Z_t)."""
        z = self.gate(self.gate.gate_input_maps(x_prev, s_prev, x))
        return (1 - z) * s_prev + z * x, z

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """maps: B×T×C×H×W raw features X. Returns (S, Z), both B×T×C×H×W."""
        x_prev = s_prev = maps[:, 0]  # X_0 = S_0 = X_1
        refined, gates = [], []
        for t in range(maps.shape[1]):
            s_prev, z = self.step(x_prev, s_prev, maps[:, t])
            x_prev = maps[:, t]
            refined.append(s_prev)
            gates.append(z)
        return torch.stack(refined, dim=1), torch.stack(gates, dim=1)
