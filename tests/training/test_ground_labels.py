"""Labelling people across calibrated cameras by where they stand: projection and the identity rule."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from training.ground_labels import (
    DIFFERENT,
    SAME,
    UNKNOWN,
    Calibration,
    GroundTrack,
    foot_reliable,
    identities,
    relation,
)

NEAR, FAR, STEP = 0.5, 1.5, 0.6


def looking_at(centre: tuple[float, float, float], target: tuple[float, float, float]) -> Calibration:
    """A 1920×1080 camera at ``centre`` (metres, z up) looking at ``target``, with a little lens distortion."""
    forward = np.subtract(target, centre) / np.linalg.norm(np.subtract(target, centre))
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera x (right), y (down), z (forward) in world axes
    K = np.array([[900.0, 0, 960], [0, 900.0, 540], [0, 0, 1]])
    return Calibration(
        K, np.array([[-0.01, 0.005, 0, 0, 0]]), cv2.Rodrigues(rotation)[0], -rotation @ np.reshape(centre, (3, 1))
    )


def test_ground_points_survive_the_round_trip_and_match_a_full_projection() -> None:
    camera = looking_at((0.0, -8.0, 5.0), (0.0, 4.0, 0.0))
    ground = np.array([[0.0, 0.0], [2.5, 3.0], [-4.0, 6.0]])
    pixels = camera.to_image(ground)
    assert np.all((pixels > 0) & (pixels < [1920, 1080]))
    assert pixels[0] == pytest.approx([960, 540 + 900 * np.tan(np.arctan(5 / 8) - np.arctan(5 / 12))], abs=15)
    assert np.abs(camera.to_ground(pixels) - ground).max() < 1e-6
    # a head 1.8 m above the same spot is not on the ground: it maps elsewhere (farther away)
    head = cv2.projectPoints(np.array([[2.5, 3.0, 1.8]]), camera.rvec, camera.tvec, camera.K, camera.dist)[0]
    assert camera.to_ground(head.reshape(1, 2))[0][1] > 3.5


def test_two_cameras_put_one_persons_feet_on_one_spot() -> None:
    front, side = looking_at((0.0, -8.0, 5.0), (0.0, 4.0, 0.0)), looking_at((10.0, 4.0, 4.0), (0.0, 4.0, 0.0))
    spot = np.array([[1.0, 5.0]])
    assert np.linalg.norm(front.to_ground(front.to_image(spot)) - side.to_ground(side.to_image(spot))) < 1e-6


def test_calibration_files_are_read_and_a_bad_one_is_named(tmp_path: Path) -> None:
    camera = looking_at((0.0, -8.0, 5.0), (0.0, 4.0, 0.0))
    intrinsic, extrinsic = tmp_path / "intr.xml", tmp_path / "extr.xml"
    storage = cv2.FileStorage(str(intrinsic), cv2.FILE_STORAGE_WRITE)
    storage.write("camera_matrix", camera.K)
    storage.write("distortion_coefficients", camera.dist)
    storage.release()
    storage = cv2.FileStorage(str(extrinsic), cv2.FILE_STORAGE_WRITE)
    storage.write("rvec", camera.rvec)
    storage.write("tvec", camera.tvec)
    storage.release()
    read = Calibration.from_xml(intrinsic, extrinsic)
    assert np.allclose(read.ground_homography(), camera.ground_homography())
    empty = tmp_path / "empty.xml"
    empty.write_text('<?xml version="1.0"?>\n<opencv_storage>\n</opencv_storage>\n')
    with pytest.raises(ValueError, match=r"empty\.xml: no rvec"):
        Calibration.from_xml(intrinsic, empty)


def test_a_foot_point_is_unreliable_at_the_border_or_behind_someone_in_front() -> None:
    size = (1920, 1080)
    box = (100.0, 200.0, 160.0, 400.0)
    assert foot_reliable(box, [], size)
    assert not foot_reliable((100.0, 200.0, 160.0, 1079.0), [], size)  # cut by the bottom edge
    assert not foot_reliable((0.0, 200.0, 60.0, 400.0), [], size)  # cut by the left edge
    assert not foot_reliable(box, [(120.0, 330.0, 200.0, 480.0)], size)  # someone lower (nearer) covers the feet
    assert foot_reliable(box, [(120.0, 150.0, 200.0, 390.0)], size)  # someone behind (higher bottom) does not count
    assert foot_reliable(box, [(150.0, 330.0, 300.0, 480.0)], size)  # in front but covering < 30 % of the feet


def track(key: int, camera: str, points: dict[int, tuple[float, float]]) -> GroundTrack:
    return GroundTrack(key, camera, min(points), max(points), {f: np.array(p) for f, p in points.items()})


def walk(start: tuple[float, float], frames: range, noise: float = 0.0, seed: int = 0) -> dict[int, tuple]:
    """Walking along x at STEP per frame from ``start`` at frame 0, seen on ``frames``."""
    rng = np.random.default_rng(seed)
    return {f: (start[0] + STEP * f + rng.normal(0, noise), start[1] + rng.normal(0, noise)) for f in frames}


def test_relation_same_different_unknown() -> None:
    a = track(1, "C1", walk((0, 0), range(0, 6)))
    assert relation(a, track(2, "C2", walk((0.1, 0.2), range(2, 8))), NEAR, FAR, STEP) == SAME
    assert relation(a, track(3, "C2", walk((0, 3), range(0, 6))), NEAR, FAR, STEP) == DIFFERENT
    assert relation(a, track(4, "C2", walk((0, 1.0), range(0, 6))), NEAR, FAR, STEP) == UNKNOWN  # 1 m: neither
    # no common frame: seen before/after at a reachable spot is unknown, far away is different
    assert relation(a, track(5, "C2", walk((0, 0.2), range(8, 10))), NEAR, FAR, STEP) == UNKNOWN
    assert relation(a, track(6, "C2", walk((0, 9.0), range(8, 10))), NEAR, FAR, STEP) == DIFFERENT
    # one common frame is not enough to say "same"
    assert relation(a, track(7, "C2", walk((0, 0.0), range(5, 6))), NEAR, FAR, STEP) == UNKNOWN


def test_identities_are_components_and_doubtful_ones_are_dropped() -> None:
    people = [
        track(1, "C1", walk((0, 0), range(0, 10), 0.1, 1)),
        track(2, "C2", walk((0, 0), range(0, 10), 0.1, 2)),
        track(3, "C3", walk((0, 0), range(3, 10), 0.1, 3)),  # person A in three cameras
        track(4, "C1", walk((0, 5), range(0, 10), 0.1, 4)),
        track(5, "C3", walk((0, 5), range(0, 10), 0.1, 5)),  # person B in two
        track(6, "C2", walk((0, 10), range(0, 10), 0.1, 6)),  # C seen by one camera: a distractor
    ]
    labelled = identities(people, NEAR, FAR, STEP)
    assert labelled.person[1] == labelled.person[2] == labelled.person[3]
    assert labelled.person[4] == labelled.person[5] != labelled.person[1]
    assert labelled.person[6] not in {labelled.person[1], labelled.person[4]}
    assert sum(labelled.dropped.values()) == 0

    # two C1 tracklets at once on the spot of one C2 tracklet: which one is it? the whole component goes
    crowd = [*people[:2], track(7, "C1", walk((0.3, 0.1), range(0, 10), 0.05, 7)), *people[3:]]
    labelled = identities(crowd, NEAR, FAR, STEP)
    assert {1, 2, 7}.isdisjoint(labelled.person) and labelled.dropped["ambiguous component"] == 3
    assert labelled.person[4] == labelled.person[5]

    # a tracklet 1 m from person B's: maybe B, maybe not; the smaller identity's tracklet is dropped
    doubtful = [*people, track(8, "C2", walk((0, 6.0), range(0, 10), 0.05, 8))]
    labelled = identities(doubtful, NEAR, FAR, STEP)
    assert 8 not in labelled.person and labelled.person[4] == labelled.person[5]
    assert labelled.dropped["unknown to another identity"] == 1
