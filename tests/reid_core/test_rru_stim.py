"""RRU (Eq. 1–5) and STIM (Eq. 6) against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reid_core.rru import RRU
from reid_core.temporal import STIM


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def identity_batchnorm(norm: nn.Module) -> None:
    """BN in eval mode that passes values through unchanged (mean 0, var 1, eps 0)."""
    norm.eval()
    norm.eps = 0.0
    norm.running_mean.zero_()
    norm.running_var.fill_(1.0)
    norm.weight.data.fill_(1.0)
    norm.bias.data.zero_()


def hand_rru() -> RRU:
    """C=2, H=W=2 with weights chosen so every intermediate is easy to follow by hand.

    Transition: all 256 channels = ReLU(0.5·Zi0 + 0.25·Zi1 + 0.5·Zi2 + 0.25·Zi3).
    Spatial: FC1 rows = [0.5, 0.5, 1, 1] (so all 128 hidden units equal r), FC2 = c/128, bias d.
    Channel: FC rows = e/256, bias f.
    """
    rru = RRU(channels=2, map_size=(2, 2)).eval()
    gate = rru.gate
    conv = gate.transition[0]
    conv.weight.data[:] = torch.tensor([0.5, 0.25, 0.5, 0.25]).view(1, 4, 1, 1)
    identity_batchnorm(gate.transition[1])
    fc1, fc2 = gate.spatial[0], gate.spatial[2]
    fc1.weight.data[:] = torch.tensor([0.5, 0.5, 1.0, 1.0])
    fc1.bias.data.zero_()
    fc2.weight.data[:] = torch.tensor([1.0, -1.0, 2.0, 0.0]).view(4, 1) / 128
    fc2.bias.data[:] = torch.tensor([0.0, 0.0, 0.0, 1.0])
    gate.channel.weight.data[:] = torch.tensor([2.0, -2.0]).view(2, 1) / 256
    gate.channel.bias.data[:] = torch.tensor([0.0, 1.0])
    return rru


X1 = [[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]]
X2 = [[[2.0, 2.0], [3.0, 2.0]], [[0.0, 3.0], [1.0, 0.0]]]


def test_rru_matches_hand_computation() -> None:
    rru = hand_rru()
    maps = torch.tensor([X1, X2]).unsqueeze(0)  # B=1, T=2, C=2, H=W=2
    with torch.no_grad():
        refined, gates = rru(maps)

    # t=1: X_0 = S_0 = X_1 so Zi = 0 → transition 0 → Zs = d = [[0,0],[0,1]], Zc = f = [0, 1].
    s1 = 0.5
    expected_z1 = [[[s1, s1], [s1, s1]], [[s1, s1], [s1, sigmoid(1.0)]]]
    expected_s1 = X1  # (1 − Z) ⊙ X_1 + Z ⊙ X_1
    # t=2: D = X_2 − X_1 = [[[1,0],[0,-2]], [[0,2],[0,0]]] and Zi = [D, D] (S_1 = X_1).
    # transition u = ReLU(D0 + 0.5·D1) = [[1,1],[0,0]]; spatial r = ReLU(0.5+0.5) = 1,
    # Zs = c·1 + d = [[1,-1],[2,1]]; channel mean(u) = 0.5 → Zc = e·0.5 + f = [1, 0].
    expected_z2 = [[[sigmoid(1.0), sigmoid(-1.0)], [sigmoid(2.0), sigmoid(1.0)]], [[0.5, 0.5], [0.5, 0.5]]]
    # S_2 = X_1 + Z ⊙ D
    expected_s2 = [[[1.0 + sigmoid(1.0), 2.0], [3.0, 4.0 - 2.0 * sigmoid(1.0)]], [[0.0, 2.0], [1.0, 0.0]]]

    torch.testing.assert_close(gates[0, 0], torch.tensor(expected_z1))
    torch.testing.assert_close(refined[0, 0], torch.tensor(expected_s1))
    torch.testing.assert_close(gates[0, 1], torch.tensor(expected_z2))
    torch.testing.assert_close(refined[0, 1], torch.tensor(expected_s2))


def test_stim_matches_hand_computation() -> None:
    """C=2, T=3, H=W=1: projection p_t = ReLU(s_t·[1, 0.5]), temporal taps [0.5, 1, −0.5]."""
    stim = STIM(channels=2).eval()
    stim.pointwise[0].weight.data[:] = torch.tensor([1.0, 0.5]).view(1, 2, 1, 1, 1)
    identity_batchnorm(stim.pointwise[1])
    kernel = torch.zeros(256, 256, 3, 3, 3)
    kernel[:, :, :, 1, 1] = torch.tensor([0.5, 1.0, -0.5]) / 256
    stim.spatiotemporal[0].weight.data[:] = kernel
    identity_batchnorm(stim.spatiotemporal[1])
    frames = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]]).view(1, 3, 2, 1, 1)
    # p = [2, 2.5, 0.5]; O_1 = ReLU(0 + 2 − 1.25) = 0.75, O_2 = ReLU(1 + 2.5 − 0.25) = 3.25,
    # O_3 = ReLU(1.25 + 0.5 − 0) = 1.75 (zero padding in time); f = mean = 5.75 / 3.
    with torch.no_grad():
        f = stim(frames)
        stream = stim.stream(1)
        for t in range(3):
            stream.push(frames[:, t : t + 1], [1], [t == 2])
        streamed = stream.result()[0]
    torch.testing.assert_close(f, torch.full((1, 256), 5.75 / 3))
    torch.testing.assert_close(streamed, torch.full((256,), 5.75 / 3))


class ConstantGate(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def gate_input_maps(self, x_prev: torch.Tensor, s_prev: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, zi: torch.Tensor) -> torch.Tensor:
        return torch.full_like(zi, self.value)


def random_rru_input(seed: int = 0) -> tuple[RRU, torch.Tensor]:
    torch.manual_seed(seed)
    return RRU(channels=16, map_size=(4, 3)).eval(), torch.randn(2, 6, 16, 4, 3) * 3


def test_gate_lies_strictly_between_zero_and_one() -> None:
    rru, maps = random_rru_input()
    with torch.no_grad():
        _, gates = rru(maps)
    assert gates.shape == maps.shape
    assert float(gates.min()) > 0.0 and float(gates.max()) < 1.0
    assert float(gates.std()) > 0.0  # the gate actually varies over regions and frames


@pytest.mark.parametrize("value", [1.0, 0.0])
def test_forced_gate_copies_input_or_keeps_first_frame(value: float) -> None:
    rru, maps = random_rru_input(1)
    rru.gate = ConstantGate(value)
    with torch.no_grad():
        refined, _ = rru(maps)
    expected = maps if value == 1.0 else maps[:, :1].expand_as(maps)  # Z=1: S_t = X_t; Z=0: S_t = S_1 = X_1
    torch.testing.assert_close(refined, expected)


@pytest.mark.parametrize("attention", ["spatial", "channel"])
def test_single_attention_gates_are_constant_along_the_other_axis(attention: str) -> None:
    torch.manual_seed(2)
    rru = RRU(channels=8, map_size=(3, 2), attention=attention).eval()
    with torch.no_grad():
        _, gates = rru(torch.randn(1, 4, 8, 3, 2))
    if attention == "spatial":  # RRU(s): one value per location, shared by all channels
        torch.testing.assert_close(gates, gates[:, :, :1].expand_as(gates))
    else:  # RRU(c): one value per channel, shared by all locations
        torch.testing.assert_close(gates, gates[..., :1, :1].expand_as(gates))
