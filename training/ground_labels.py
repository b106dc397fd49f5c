"""Who is who across calibrated cameras, by where people stand (no appearance, no published boxes).

A tracklet's foot point (the bottom centre of its box) lies on the ground; a camera's calibration
(intrinsics K and distortion, extrinsics R, t: OpenCV's model) maps the ground plane z = 0 to the
image by the homography ``K [r1 r2 t]``, so its inverse takes a foot point to metres on the ground.
Two tracklets of synchronised cameras that stand on the same spot in most of their common frames
are one person; identities are the connected components of that relation, kept only where nothing
contradicts them (see ``identities``). Used to label check sets (``bench/labels/make_multiviewx_geo.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class Calibration:
    """One camera's OpenCV calibration: intrinsic matrix, distortion, and the world-to-camera rotation/translation."""

    K: np.ndarray
    dist: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray

    @classmethod
    def from_xml(cls, intrinsic: Path, extrinsic: Path) -> Calibration:
        """Read ``camera_matrix``/``distortion_coefficients`` and ``rvec``/``tvec`` (OpenCV FileStorage XML)."""
        found = {}
        for path, names in ((intrinsic, ("camera_matrix", "distortion_coefficients")), (extrinsic, ("rvec", "tvec"))):
            storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
            if not storage.isOpened():
                raise FileNotFoundError(f"{path}: not a readable OpenCV calibration file")
            for name in names:
                matrix = storage.getNode(name).mat()
                if matrix is None:
                    raise ValueError(f"{path}: no {name}")
                found[name] = matrix.astype(np.float64)
            storage.release()
        return cls(found["camera_matrix"], found["distortion_coefficients"], found["rvec"], found["tvec"])

    def ground_homography(self) -> np.ndarray:
        """3×3 map from ground points (x, y, 1), z = 0, to undistorted homogeneous pixels."""
        rotation = cv2.Rodrigues(self.rvec)[0]
        return self.K @ np.column_stack([rotation[:, 0], rotation[:, 1], self.tvec.reshape(3)])

    def to_ground(self, pixels: np.ndarray) -> np.ndarray:
        """Image points (N×2, distorted, as the image shows them) → ground points (N×2) in world units."""
        pixels = np.asarray(pixels, np.float64).reshape(-1, 1, 2)
        undistorted = cv2.undistortPoints(pixels, self.K, self.dist, P=self.K).reshape(-1, 2)
        homogeneous = np.linalg.inv(self.ground_homography()) @ np.vstack([undistorted.T, np.ones(len(undistorted))])
        return (homogeneous[:2] / homogeneous[2]).T

    def to_image(self, ground: np.ndarray) -> np.ndarray:
        """Ground points (N×2, z = 0) → image points (N×2), with the lens distortion."""
        points = np.column_stack([np.asarray(ground, np.float64).reshape(-1, 2), np.zeros(len(ground))])
        return cv2.projectPoints(points, self.rvec, self.tvec, self.K, self.dist)[0].reshape(-1, 2)


def multiviewx_calibration(folder: Path, camera: int) -> Calibration:
    """Camera ``camera`` (1-based) of a MultiviewX-style ``calibrations`` folder (intrinsic/, extrinsic/)."""
    return Calibration.from_xml(
        folder / "intrinsic" / f"intr_Camera{camera}.xml", folder / "extrinsic" / f"extr_Camera{camera}.xml"
    )


def foot_reliable(box: Box, others: Iterable[Box], size: tuple[int, int], margin: float = 3.0) -> bool:
    """Is the box's bottom centre where the person stands? Not when the box is cut by the image border
    (``size`` = width, height), nor when a box in front of it (lower bottom edge) covers ≥ 30 % of its
    lowest quarter: the feet are hidden there and the box ends on the occluder or the border."""
    x1, y1, x2, y2 = box
    width, height = size
    if x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin:
        return False
    strip_top, strip_area = y2 - 0.25 * (y2 - y1), max((x2 - x1) * 0.25 * (y2 - y1), 1e-9)
    for ox1, oy1, ox2, oy2 in others:
        if oy2 <= y2:
            continue
        covered = max(min(x2, ox2) - max(x1, ox1), 0.0) * max(min(y2, oy2) - max(strip_top, oy1), 0.0)
        if covered >= 0.3 * strip_area:
            return False
    return True


@dataclass
class GroundTrack:
    """A tracklet's ground positions on its frames with a reliable foot point (frame index → x, y)."""

    key: int  # the tracklet's id
    camera: str
    start: int
    end: int
    ground: dict[int, np.ndarray] = field(default_factory=dict)


SAME, DIFFERENT, UNKNOWN = "same", "different", "unknown"


def relation(a: GroundTrack, b: GroundTrack, near: float, far: float, step: float, min_common: int = 2) -> str:
    """Same person, different people, or unknown, for two tracklets of different synchronised cameras.

    On their common reliable frames (at least ``min_common``): same when the ground points are within
    ``near`` on more than half of them, different when farther than ``far`` on more than half, else unknown.
    Without enough common frames: different only when no walk at ``step`` per frame (plus ``far``) joins
    their nearest positions in time; else unknown (one may be the other seen before or after).
    """
    common = sorted(set(a.ground) & set(b.ground))
    if len(common) >= min_common:
        distances = np.array([np.linalg.norm(a.ground[f] - b.ground[f]) for f in common])
        if (distances < near).mean() > 0.5:
            return SAME
        return DIFFERENT if (distances > far).mean() > 0.5 else UNKNOWN
    if not a.ground or not b.ground:
        return UNKNOWN
    gaps = [(abs(fa - fb), fa, fb) for fa in a.ground for fb in b.ground]
    gap, fa, fb = min(gaps)
    reach = step * gap + far
    return DIFFERENT if np.linalg.norm(a.ground[fa] - b.ground[fb]) > reach else UNKNOWN


def jumps(track: GroundTrack, limit: float) -> bool:
    """Does the track move faster than ``limit`` per frame between two reliable frames? (A tracker that
    switched people, or a foot point hidden behind something: either way its positions cannot be trusted.)"""
    frames = sorted(track.ground)
    return any(
        np.linalg.norm(track.ground[g] - track.ground[f]) > limit * (g - f) for f, g in itertools.pairwise(frames)
    )


def overlap_in_time(a: GroundTrack, b: GroundTrack) -> bool:
    return a.start <= b.end and b.start <= a.end


@dataclass
class Labelling:
    person: dict[int, int]  # tracklet key → identity (persons seen by one camera only included)
    dropped: dict[str, int]  # why tracklets were left out → how many


def identities(tracks: Sequence[GroundTrack], near: float, far: float, step: float) -> Labelling:
    """Identities as connected components of ``relation`` = same between cameras, kept only when sure.

    Tracks that jump (faster than 2.5 × ``step`` per frame) are left out first. A component is dropped
    when it holds two time-overlapping tracklets of one camera (one person is
    not in two places at once: the match is ambiguous) or two of its tracklets are ``different``.
    Then, while two kept tracklets of different identities and cameras are ``unknown`` to each other
    (they may be one person), the one in the smaller identity (then: fewer reliable frames) is dropped,
    so no kept pair of different labels can be one person by the geometry.
    """
    steady = [t for t in tracks if not jumps(t, 2.5 * step)]
    by_key = {t.key: t for t in steady}
    keys = sorted(by_key)
    parent = {k: k for k in keys}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    relations: dict[tuple[int, int], str] = {}
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if by_key[a].camera == by_key[b].camera:
                continue
            relations[(a, b)] = relation(by_key[a], by_key[b], near, far, step)
            if relations[(a, b)] == SAME:
                parent[root(a)] = root(b)
    components: dict[int, list[int]] = {}
    for k in keys:
        components.setdefault(root(k), []).append(k)
    dropped = {
        "jumps on the ground": len(tracks) - len(steady),
        "ambiguous component": 0,
        "contradicting component": 0,
        "unknown to another identity": 0,
    }
    person: dict[int, int] = {}
    for number, members in enumerate(sorted(components.values(), key=lambda m: m[0])):
        same_camera_overlap = any(
            by_key[a].camera == by_key[b].camera and overlap_in_time(by_key[a], by_key[b])
            for i, a in enumerate(members)
            for b in members[i + 1 :]
        )
        contradiction = any(relations.get((a, b)) == DIFFERENT for a in members for b in members if a < b)
        if same_camera_overlap or contradiction:
            dropped["ambiguous component" if same_camera_overlap else "contradicting component"] += len(members)
            continue
        person |= {k: number for k in members}
    while True:
        size = {p: sum(1 for q in person.values() if q == p) for p in set(person.values())}
        doubtful = [
            (a, b)
            for (a, b), r in relations.items()
            if r == UNKNOWN and a in person and b in person and person[a] != person[b]
        ]
        if not doubtful:
            break
        a, b = doubtful[0]
        loser = min((a, b), key=lambda k, size=size: (size[person[k]], len(by_key[k].ground), -k))
        del person[loser]
        dropped["unknown to another identity"] += 1
    return Labelling(person, dropped)
