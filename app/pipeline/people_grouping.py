"""Group tracklets into people: constrained average-linkage clustering on a top-k cosine graph.

Every tracklet starts as its own cluster (tracklets the operator already tied together start as
one). The two clusters with the highest average cosine similarity are merged, again and again,
until no pair left reaches ``threshold``. A merge that would break a sure rule is never made, and
since clusters only grow, a pair that breaks a rule once breaks it for good:

- one person is never in two tracklets of one camera at the same instant;
- two cameras cannot hold one person at the same instant unless their views overlap (a pair
  setting); ``handover_s`` of overlap is tolerated for a person crossing from one view to the next;
- the gap between two cameras must be at least ``transit_margin`` of the shortest transit between
  them that the operator's confirmed people took (once learned);
- a tracklet pair the operator rejected is never in one cluster.

For thousands of tracklets the similarity matrix is never held whole: each tracklet keeps its
``neighbours`` most similar tracklets (blocked matrix products), and a pair of clusters without
an edge counts as ``floor`` (the lowest similarity kept in the graph). Ties break by cluster id,
so a run is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

BLOCK_ROWS = 1024


class GroupingCancelled(Exception):
    """The caller asked to stop; nothing was stored."""


@dataclass(frozen=True)
class GroupingOptions:
    threshold: float = 0.88  # stop when no pair of people is this similar on average (bench_people.py tunes it)
    time_constraints: bool = True
    handover_s: float = 1.0  # overlap tolerated between two cameras whose views do not overlap
    neighbours: int = 30  # edges kept per tracklet in the similarity graph
    transit_margin: float = 0.5  # a pair's learned minimum transit time is trusted down to this fraction


@dataclass
class GroupingInput:
    """Rows of tracklets (row i is one tracklet) and what constrains them; cameras are 0..C-1."""

    vectors: np.ndarray  # N×D float32 unit vectors
    cameras: np.ndarray  # N int
    starts: np.ndarray  # N float seconds
    ends: np.ndarray  # N float seconds
    overlapping_views: np.ndarray  # C×C bool: one person may be in both cameras at once
    min_transit: np.ndarray  # C×C float seconds (0 where nothing was learned)
    must_link: list[list[int]] = field(default_factory=list)  # rows known to be one person
    cannot_link: list[tuple[int, int]] = field(default_factory=list)  # row pairs known to be two people


@dataclass
class Grouping:
    groups: list[list[int]]  # rows per person, each sorted; persons ordered by their first row
    member_confidence: np.ndarray  # N float in [0, 1]
    group_confidence: list[float]


Progress = Callable[[int, int], None]  # (steps done, steps in all)


def neighbour_graph(
    vectors: np.ndarray, k: int, cancelled: Callable[[], bool] = lambda: False
) -> tuple[np.ndarray, np.ndarray]:
    """(N×k neighbour rows, N×k similarities) of every row, itself left out, best first."""
    n = vectors.shape[0]
    k = max(min(k, n - 1), 0)
    rows = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float32)
    for start in range(0, n if k else 0, BLOCK_ROWS):
        if cancelled():
            raise GroupingCancelled
        block = vectors[start : start + BLOCK_ROWS] @ vectors.T
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(block, top, axis=1)
        order = np.lexsort((top, -top_sims), axis=1)
        rows[start : start + block.shape[0]] = np.take_along_axis(top, order, axis=1)
        sims[start : start + block.shape[0]] = np.take_along_axis(top_sims, order, axis=1)
    return rows, sims


def edge_dict(rows: np.ndarray, sims: np.ndarray) -> dict[tuple[int, int], float]:
    """The graph's edges without direction: {(low row, high row): similarity}."""
    edges: dict[tuple[int, int], float] = {}
    for i, (neighbours, values) in enumerate(zip(rows.tolist(), sims.tolist())):
        for j, s in zip(neighbours, values):
            edges[(i, j) if i < j else (j, i)] = s
    return edges


class _Clusters:
    """Clusters with their members' cameras and times, edge sums to neighbours, and forbidden partners."""

    def __init__(self, data: GroupingInput, options: GroupingOptions) -> None:
        self.data, self.options = data, options
        self.members: dict[int, list[int]] = {}
        self.links: dict[int, dict[int, list[float]]] = {}  # cluster -> neighbour -> [similarity sum, edges]
        self.forbidden: dict[int, set[int]] = {}
        self.rejected: dict[int, set[int]] = {}  # rows this cluster's members were rejected with
        self.next_id = 0

    def add(self, rows: list[int]) -> int:
        cluster = self.next_id
        self.next_id += 1
        self.members[cluster] = list(rows)
        self.links[cluster], self.forbidden[cluster], self.rejected[cluster] = {}, set(), set()
        return cluster

    def conflict(self, a: int, b: int) -> bool:
        """Whether one person cannot be both clusters (a sure rule or an operator's rejection)."""
        if not self.rejected[a].isdisjoint(self.members[b]):
            return True
        if not self.options.time_constraints:
            return False
        d = self.data
        ra, rb = np.array(self.members[a]), np.array(self.members[b])
        ca, cb = d.cameras[ra][:, None], d.cameras[rb][None, :]
        overlap = np.minimum(d.ends[ra][:, None], d.ends[rb][None, :]) - np.maximum(
            d.starts[ra][:, None], d.starts[rb][None, :]
        )
        same = ca == cb
        if (same & (overlap > 0)).any():
            return True
        apart = ~same & ~d.overlapping_views[ca, cb]
        transit = d.min_transit[ca, cb]  # 0: nothing learned for the pair
        too_soon = (transit > 0) & (-overlap < transit)
        return bool((apart & ((overlap > self.options.handover_s) | too_soon)).any())

    def merge(self, a: int, b: int) -> int:
        """Fold the smaller cluster into the larger (ties: into the lower id), which keeps its id:
        only the smaller one's links move, so a big cluster absorbing small ones stays cheap."""
        keep, gone = (a, b) if (len(self.members[a]), -a) >= (len(self.members[b]), -b) else (b, a)
        self.members[keep] += self.members.pop(gone)
        self.rejected[keep] |= self.rejected.pop(gone)
        mine = self.links[keep]
        mine.pop(gone, None)
        for other, (total, count) in self.links.pop(gone).items():
            if other == keep:
                continue
            theirs = self.links[other]
            del theirs[gone]
            if other in mine:
                mine[other][0] += total
                mine[other][1] += count
                theirs[keep][0] += total
                theirs[keep][1] += count
            else:
                mine[other], theirs[keep] = [total, count], [total, count]
        moved = self.forbidden.pop(gone)
        for other in moved:
            self.forbidden[other].discard(gone)
            self.forbidden[other].add(keep)
        self.forbidden[keep] |= moved
        self.forbidden[keep] -= {keep, gone}
        return keep


def _linkage(total: float, count: int, size: int, floor: float) -> float:
    return (total + (size - count) * floor) / size


def group_tracklets(
    data: GroupingInput,
    options: GroupingOptions,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Grouping:
    """Propose people (see the module's docstring); raises ``GroupingCancelled`` when ``cancelled()``."""
    n = data.vectors.shape[0]
    rows, sims = neighbour_graph(data.vectors, options.neighbours, cancelled)
    floor = float(sims.min()) if sims.size else 0.0
    edges = edge_dict(rows, sims)
    clusters = _Clusters(data, options)
    parent = list(range(n))

    def root(i: int) -> int:
        return union_root(parent, i)

    for group in data.must_link:
        for row in group[1:]:
            parent[root(row)] = root(group[0])
    start_groups: dict[int, list[int]] = {}
    for i in range(n):
        start_groups.setdefault(root(i), []).append(i)
    cluster_of = np.zeros(n, dtype=np.int64)
    for members in start_groups.values():
        cluster_of[members] = clusters.add(members)
    for a, b in data.cannot_link:
        clusters.rejected[int(cluster_of[a])].add(b)
        clusters.rejected[int(cluster_of[b])].add(a)
    for (i, j), s in edges.items():
        a, b = int(cluster_of[i]), int(cluster_of[j])
        if a != b:
            entry = clusters.links[a].setdefault(b, [0.0, 0])
            entry[0] += s
            entry[1] += 1
            clusters.links[b][a] = entry.copy()
    heap: list[tuple[float, int, int]] = []
    for a, neighbours in clusters.links.items():
        size_a = len(clusters.members[a])
        for b, (total, count) in neighbours.items():
            if a < b:
                heap.append((-_linkage(total, count, size_a * len(clusters.members[b]), floor), a, b))
    heapq.heapify(heap)
    steps, total_steps = 0, max(len(heap), 1)
    while heap:
        negative, a, b = heapq.heappop(heap)
        steps += 1
        if steps % 512 == 0:
            if cancelled():
                raise GroupingCancelled
            if progress is not None:
                progress(min(steps, total_steps - 1), total_steps)
        if -negative < options.threshold:
            break
        if a not in clusters.members or b not in clusters.members or b in clusters.forbidden[a]:
            continue
        entry = clusters.links[a].get(b)
        size = len(clusters.members[a]) * len(clusters.members[b])
        if entry is None or (entry[0] + (size - entry[1]) * floor) / size != -negative:
            continue  # an older value of a pair that has changed since (its new value is in the heap too)
        if clusters.conflict(a, b):
            clusters.forbidden[a].add(b)
            clusters.forbidden[b].add(a)
            continue
        merged = clusters.merge(a, b)
        size = len(clusters.members[merged])
        for other, (total, count) in clusters.links[merged].items():
            if other not in clusters.forbidden[merged]:
                value = _linkage(total, count, size * len(clusters.members[other]), floor)
                if value >= options.threshold:
                    heapq.heappush(heap, (-value, min(merged, other), max(merged, other)))
                    total_steps += 1
    if progress is not None:
        progress(total_steps, total_steps)
    groups = sorted((sorted(g) for g in clusters.members.values()), key=lambda g: g[0])
    member_confidence, group_confidence = confidences(groups, edges, floor, n, options.threshold)
    return Grouping(groups, member_confidence, group_confidence)


def confidences(
    groups: list[list[int]], edges: dict[tuple[int, int], float], floor: float, n: int, threshold: float
) -> tuple[np.ndarray, list[float]]:
    """How sure each member is: 0.5 + (mean similarity to its own person − the best mean similarity
    to another person), clipped to [0, 1]; a person's is the mean of its members'. A tracklet alone
    counts ``threshold`` as its own similarity; pairs without an edge count ``floor``."""
    group_of = np.zeros(n, dtype=np.int64)
    for number, group in enumerate(groups):
        group_of[group] = number
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    own, rival = np.full(n, threshold, dtype=np.float64), np.full(n, floor, dtype=np.float64)
    if edges:
        pairs = np.array(list(edges), dtype=np.int64)
        values = np.fromiter(edges.values(), dtype=np.float64, count=len(edges))
        me, other = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
        keys, where = np.unique(me * len(groups) + group_of[other], return_inverse=True)
        totals = np.bincount(where, np.concatenate([values, values]))
        counts = np.bincount(where).astype(np.float64)
        rows, numbers = keys // len(groups), keys % len(groups)
        mine = numbers == group_of[rows]
        others = sizes[numbers] - mine  # the member itself is not its own partner
        means = (totals + (others - counts) * floor) / np.maximum(others, 1)
        own[rows[mine]] = means[mine]
        np.maximum.at(rival, rows[~mine], means[~mine])
    member = np.clip(0.5 + own - rival, 0.0, 1.0)
    return member, [float(member[g].mean()) for g in groups]


def union_root(parent: list[int], i: int) -> int:
    """The representative of ``i`` in a union-find forest (paths halved on the way)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def threshold_components(vectors: np.ndarray, threshold: float, neighbours: int = 30) -> list[list[int]]:
    """The plain baseline: tracklets joined whenever their cosine similarity reaches ``threshold``
    (connected components of the top-k graph, no rules)."""
    n = vectors.shape[0]
    rows, sims = neighbour_graph(vectors, neighbours)
    parent = list(range(n))

    def root(i: int) -> int:
        return union_root(parent, i)

    for i, j in zip(*np.nonzero(sims >= threshold)):
        parent[root(int(rows[i, j]))] = root(int(i))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])
