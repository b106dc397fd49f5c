"""Person masks from background subtraction, and the gate loss that pulls the RRU's gates onto them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from reid_core.rru import RRU
from training.distill import gate_loss
from training.person_masks import GRID, is_reliable, video_masks

SIZE = (120, 160)  # frame height, width
BLOB = (40, 20)  # the walker's height, width


def walker_video(path: Path, frames: int = 30) -> list[tuple[int, int]]:
    """A textured static scene with a bright blob walking left to right; returns the blob's (top, left) per frame."""
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 120, (*SIZE, 3), dtype=np.uint8), (0, 0), 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (SIZE[1], SIZE[0]))
    places = []
    for i in range(frames):
        top, left = 50, 10 + 4 * i
        frame = scene.copy()
        frame[top : top + BLOB[0], left : left + BLOB[1]] = (220, 200, 240)
        writer.write(frame)
        places.append((top, left))
    writer.release()
    return places


def test_the_mask_maker_finds_a_moving_blob_inside_its_box(tmp_path: Path) -> None:
    video = tmp_path / "walker.avi"
    places = walker_video(video)
    boxes = {}
    for frame in (5, 15, 25):
        top, left = places[frame]
        # a detector box twice the blob's width: the blob fills the middle two of four columns
        boxes[frame] = [(frame, (left - BLOB[1] / 2, top, left + 1.5 * BLOB[1], top + BLOB[0]))]
    masks = video_masks(video, boxes)

    assert set(masks) == {5, 15, 25}
    for mask in masks.values():
        assert mask.shape == GRID
        assert mask[:, 1:3].mean() > 0.9  # the blob's columns
        assert mask[:, [0, 3]].mean() < 0.1  # the background beside it
        assert is_reliable(mask)


def test_a_box_on_a_still_background_gives_an_unusable_mask(tmp_path: Path) -> None:
    video = tmp_path / "walker.avi"
    walker_video(video)
    mask = video_masks(video, {20: [("empty corner", (130.0, 0.0, 158.0, 40.0))]})["empty corner"]
    assert mask.mean() < 0.05 and not is_reliable(mask)


def test_the_gate_loss_pulls_the_gates_onto_the_mask() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: more threads only wait for each other on a loaded machine
    try:
        train_gates_on_a_mask()
    finally:
        torch.set_num_threads(threads)


def train_gates_on_a_mask() -> None:
    torch.manual_seed(0)
    rru = RRU(channels=8, map_size=GRID)
    masks = torch.zeros(4, 3, *GRID)
    masks[:, :, 1:7, 1:3] = 1.0  # the person: middle columns, most rows
    weights = torch.ones(4, 3)
    weights[0, 0] = 0.0  # an unusable frame counts for nothing
    optimiser = torch.optim.Adam(rru.parameters(), lr=1e-2)

    def gap_on(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, gates = rru(maps)
        return gate_loss(gates.mean(dim=2), masks, weights, margin=0.3)

    _, start_gap = gap_on(torch.randn(4, 3, 8, *GRID))
    for _ in range(60):
        loss, _ = gap_on(torch.randn(4, 3, 8, *GRID))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    rru.eval()
    with torch.no_grad():
        end_loss, end_gap = gap_on(torch.randn(4, 3, 8, *GRID))  # maps it never saw

    assert abs(float(start_gap)) < 0.05  # untrained gates do not know where the person is
    assert float(end_gap) > 0.25 and float(end_loss) < 0.05
