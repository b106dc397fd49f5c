"""Check-set helpers: what the quality bench shows every model."""

from __future__ import annotations

import numpy as np

from training.checksets import CROP_SIZE, LabelledTracklet, at_resolution


def test_a_lower_resolution_camera_keeps_the_crop_size_and_loses_the_fine_detail() -> None:
    checker = (np.indices(CROP_SIZE).sum(axis=0) % 2 * 255).astype(np.uint8)  # finest possible detail
    crop = np.repeat(checker[:, :, None], 3, axis=2)
    blocks = np.zeros((*CROP_SIZE, 3), dtype=np.uint8)
    blocks[:128], blocks[128:] = (250, 10, 10), (10, 10, 250)  # coarse: upper and lower body
    [out] = at_resolution([LabelledTracklet("cam", 1, [crop, blocks], tracklet_id=7)], height=64)
    assert out.tracklet_id == 7 and [c.shape for c in out.crops] == [(*CROP_SIZE, 3)] * 2
    assert out.crops[0].std() < 0.1 * crop.std()  # the checkerboard is gone
    assert np.abs(out.crops[1][20:100].astype(int) - blocks[20:100]).max() <= 2  # the clothes' colours stay
