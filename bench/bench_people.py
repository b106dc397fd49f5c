"""People across cameras: how good the proposals are on labelled footage, and how fast at 10,000 tracklets.

Quality (pairwise precision/recall/F1 over labelled tracklet pairs, IDF1-style over boxes; see
app/pipeline/people_scores.py) of three ways to group, each at its best threshold on vtest_halves
(the development set; thresholds 0.80-0.99 by 0.01; the proposals without the time constraints
take the threshold of those with them, so that the two differ only in the constraints), then at
those same thresholds on vut_corridor_multi (the judge, never tuned on):
- plain similarity thresholding: tracklets joined whenever their cosine reaches the threshold;
- proposals without the time constraints (average linkage + the operator's labels only);
- proposals with the time constraints (what `reid people` does).
The default model embeds the sets' workspaces (built by app/pipeline/check_footage.labelled_workspace).
vut_corridor_multi's two cameras film one corridor at once (its labels have people in both at the
same instant), so it is scored with that pair set to "views overlap", and also without.

Speed: a synthetic workspace (built through the store API) of N tracklets of people walking
through 8 cameras, vectors with the spread of the default model's (a shared direction, a person
direction, noise), grouped end to end by `propose_people` (vector index, grouping, storing);
plain thresholding on the same vectors is the baseline measured in the same run.

Run: python bench/bench_people.py [--work DIR] [--scale 10000] [--gui] [--write-fixture NPZ]
(the tests' NPZ: tests/app/data/vtest_halves_people.npz)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.check_footage import labelled_workspace
from app.pipeline.people import grouping_input, propose_people
from app.pipeline.people_grouping import GroupingOptions, group_tracklets, threshold_components
from app.pipeline.people_scores import PeopleScore, labels_of, score_people
from app.pipeline.query import active_model_id
from reid_core.store.vector_index import sync_index
from reid_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = Path(__file__).resolve().parent / "labels"
GRID = np.round(np.arange(0.80, 0.995, 0.01), 2)
WAYS = ("plain thresholding", "proposals, no time constraints", "proposals (reid people)")


def embedded_set(name: str, work: Path) -> Path:
    from app.pipeline.embed import embed_workspace
    from resources import DEFAULT_REID_CHECKPOINT

    folder = labelled_workspace(LABELS / f"{name}.json", work, SHARED)
    with Workspace(folder) as ws:
        if ws.newest_embedded_model() is None:
            embed_workspace(ws, DEFAULT_REID_CHECKPOINT, "auto")
    return folder


def labelled_rows(ws: Workspace, ids: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, person, boxes) of every labelled tracklet among the grouped rows."""
    wanted = {(e["camera"], e["start_frame"], e["end_frame"]): e["person"] for e in _labels(name)["tracklets"]}
    rows = ws.tracklets_by_id(ids.tolist())
    found = [
        (row, wanted[key], rows[int(t)].length)
        for row, t in enumerate(ids.tolist())
        if (key := (rows[int(t)].camera, rows[int(t)].start_frame, rows[int(t)].end_frame)) in wanted
    ]
    return tuple(np.array(column) for column in zip(*found))


def _labels(name: str) -> dict:
    return json.loads((LABELS / f"{name}.json").read_text())


def score_ways(folder: Path, name: str, thresholds: dict[str, float], overlap: bool = False) -> dict[str, PeopleScore]:
    with Workspace(folder, create=False) as ws:
        ids, data = grouping_input(ws, active_model_id(ws), GroupingOptions())
        rows, truth, boxes = labelled_rows(ws, ids, name)
    if overlap:
        data.overlapping_views[:] = True
    out = {}
    for way, threshold in thresholds.items():
        if way == WAYS[0]:
            groups = threshold_components(data.vectors, threshold)
        else:
            options = GroupingOptions(threshold=threshold, time_constraints=way == WAYS[2])
            groups = group_tracklets(data, options).groups
        out[way] = score_people(labels_of(groups, len(ids))[rows], truth, boxes)
    return out


def tune(folder: Path, name: str) -> dict[str, float]:
    """Each way's threshold with the best pairwise F1 on this set (ties: the lower threshold)."""
    best: dict[str, tuple[float, float]] = {}
    for threshold in GRID:
        for way, score in score_ways(folder, name, dict.fromkeys(WAYS, float(threshold))).items():
            if way not in best or score.f1 > best[way][1] + 1e-9:
                best[way] = (float(threshold), score.f1)
    return {way: value[0] for way, value in best.items()}


def quality(work: Path) -> None:
    dev, judge = embedded_set("vtest_halves", work), embedded_set("vut_corridor_multi", work)
    thresholds = tune(dev, "vtest_halves")
    thresholds[WAYS[1]] = thresholds[WAYS[2]]  # with and without the time constraints at one threshold
    print("\n| check set | way | threshold | pairwise precision | recall | F1 | IDF1 | people |")
    print("|---|---|---|---|---|---|---|---|")
    runs = [
        ("vtest_halves (58 labelled tracklets, 27 people; tuned here)", dev, "vtest_halves", False),
        ("vut_corridor_multi (10 labelled, 3 people; judge), views overlap", judge, "vut_corridor_multi", True),
        ("vut_corridor_multi, views apart (the default setting)", judge, "vut_corridor_multi", False),
    ]
    for label, folder, name, overlap in runs:
        for way, score in score_ways(folder, name, thresholds, overlap).items():
            print(f"| {label} | {way} | {thresholds[way]:.2f} | {score.row()} |")
    print(f"\nvtest_halves, member confidence as a sign of a right member: AUC {doubt_auc(dev):.2f}")


def doubt_auc(folder: Path) -> float:
    """How well member confidence orders members: the chance that a member sharing its proposal with
    another tracklet of its own person is more confident than one that does not (0.5: no better than chance)."""
    with Workspace(folder, create=False) as ws:
        ids, data = grouping_input(ws, active_model_id(ws), GroupingOptions())
        rows, truth, _ = labelled_rows(ws, ids, "vtest_halves")
    result = group_tracklets(data, GroupingOptions())
    group = labels_of(result.groups, len(ids))
    person = dict(zip(rows.tolist(), truth.tolist()))
    sizes = np.bincount(group)
    members = [r for r in person if sizes[group[r]] > 1]
    right = np.array(
        [any(person.get(q) == person[r] for q in members if q != r and group[q] == group[r]) for r in members]
    )
    confidence = result.member_confidence[members]
    pairs = confidence[right][:, None] - confidence[~right][None, :]
    return float(((pairs > 0) + 0.5 * (pairs == 0)).mean())


def synthetic_people(n: int, cameras: int, seed: int = 0, dim: int = 256) -> dict[str, np.ndarray]:
    """``n`` tracklets of people walking through cameras (a tracklet every ~40 s per person, never two
    at once); vectors: a shared direction + a person direction + noise, so that two people have
    cosine ~0.83 and a person's own tracklets ~0.96, as the default model gives on real footage."""
    rng = np.random.default_rng(seed)
    people = max(n // 6, 1)
    person = np.sort(rng.integers(0, people, n))
    shared = rng.standard_normal(dim)
    shared /= np.linalg.norm(shared)
    own = rng.standard_normal((people, dim))
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dim)) / np.sqrt(dim)
    vectors = 2.6 * shared + own[person] + 0.6 * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    first = np.r_[0, np.flatnonzero(np.diff(person)) + 1]
    order_in_person = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    starts = rng.uniform(0, 86_400, people)[person] + 40.0 * order_in_person
    ends = starts + rng.uniform(3, 30, n)
    return {
        "vectors": vectors.astype(np.float32),
        "cameras": rng.integers(0, cameras, n),
        "starts": starts,
        "ends": ends,
        "person": person,
    }


def make_workspace(folder: Path, n: int, cameras: int) -> None:
    data = synthetic_people(n, cameras)
    with Workspace(folder) as ws:
        ws.register_model("synthetic", "synthetic vectors", "synthetic", "synthetic", 256, {})
        with ws.transaction():
            videos, camera_ids = [], []
            for c in range(cameras):
                camera_id = ws.camera_id(f"cam{c}")
                camera_ids.append(camera_id)
                video = {"camera_id": camera_id, "path": f"synthetic://cam{c}", "content_hash": f"synthetic-{c}"}
                video |= {"fps": 10.0, "frame_count": 864_000, "width": 1920, "height": 1080, "start_time": 0.0}
                videos.append(ws.add_video(video | {"frames_processed": 0, "params": "{}", "added_at": 0.0}))
            ws.add_tracklets(
                [
                    {
                        "id": i + 1,
                        "video_id": videos[c],
                        "camera_id": camera_ids[c],
                        "track_id": i + 1,
                        "start_frame": int(s * 10),
                        "end_frame": int(e * 10),
                        "start_time": float(s),
                        "end_time": float(e),
                        "length": int((e - s) * 10),
                    }
                    for i, (c, s, e) in enumerate(zip(data["cameras"].tolist(), data["starts"], data["ends"]))
                ]
            )
            ws.save_embeddings("synthetic", list(range(1, n + 1)), data["vectors"])
        ws.set_meta("active_model", "synthetic")
        sync_index(ws, "synthetic")


def speed(n: int, work: Path) -> None:
    folder = work / f"people_{n}"
    if not (folder / "workspace.sqlite").exists():
        make_workspace(folder, n, cameras=8)
    truth = synthetic_people(n, 8)["person"]
    with Workspace(folder, create=False) as ws:
        started = time.perf_counter()
        run = propose_people(ws)
        seconds = time.perf_counter() - started
        _, data = grouping_input(ws, "synthetic", GroupingOptions())
        groups = ws.proposal_groups()
    predicted = np.zeros(n, dtype=np.int64)
    for number, members in groups.items():
        predicted[np.array(members) - 1] = number
    ours = score_people(predicted, truth)
    started = time.perf_counter()
    baseline = threshold_components(data.vectors, GroupingOptions().threshold)
    base_seconds = time.perf_counter() - started
    plain = score_people(labels_of(baseline, n), truth)
    print(f"\n{n} tracklets, 8 cameras: propose_people (index + grouping + store) {seconds:.1f} s, {run.people} people")
    print(f"  plain thresholding on the same vectors: {base_seconds:.1f} s; ratio {seconds / base_seconds:.1f}x")
    print(f"  pairwise F1 / IDF1 against the generated people: proposals {ours.f1:.3f} / {ours.idf1:.3f}, ")
    print(f"  plain thresholding {plain.f1:.3f} / {plain.idf1:.3f}")


def responsiveness(n: int, work: Path) -> None:
    """The app grouping ``n`` tracklets (``--scale``'s workspace): the longest GUI-thread block meanwhile
    (a 5 ms timer's longest gap, as bench_gui.py measures it), and how soon Cancel stops a second run."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import MainWindow
    from bench.bench_gui import BlockMeter

    folder = work / f"people_{n}"
    if not (folder / "workspace.sqlite").exists():
        make_workspace(folder, n, cameras=8)
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.show()
    window.open_workspace(folder)
    panel, meter = window.people, BlockMeter()

    def wait_idle() -> None:
        while panel.runner.running or not panel.group_button.isEnabled():
            app.processEvents()
            time.sleep(0.001)

    settle = time.perf_counter() + 2.0  # the window's first paints are not the grouping's doing
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.001)
    meter.start()
    started = time.perf_counter()
    panel.start_grouping()
    wait_idle()
    seconds, longest = time.perf_counter() - started, meter.longest
    panel.start_grouping()
    deadline = time.perf_counter() + 3.0
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    asked = time.perf_counter()
    panel.runner.cancel()
    wait_idle()
    stopped = time.perf_counter() - asked
    print(f"\napp, {n} tracklets: grouped in {seconds:.1f} s by a background process ({panel.model.rowCount()} rows);")
    print(f"  longest GUI-thread block {longest:.0f} ms; Cancel 3 s into a second run stopped it in {stopped:.2f} s")
    window.close_workspace()
    window.close()


def write_fixture(work: Path, out: Path) -> None:
    """vtest_halves as the tests use it: the default model's vectors, times, labels and two small crops
    per tracklet (real footage, no ingest or embed needed in a test)."""
    folder = embedded_set("vtest_halves", work)
    with Workspace(folder, create=False) as ws:
        model_id = active_model_id(ws)
        ids, data = grouping_input(ws, model_id, GroupingOptions())
        rows = ws.tracklets_by_id(ids.tolist())
        labelled, truth, _ = labelled_rows(ws, ids, "vtest_halves")
        person = np.full(len(ids), -1)
        person[labelled] = truth
        blobs, offsets = [], [0]
        for t in ids.tolist():
            crops = ws.crops(int(t))
            for _, jpeg in [crops[0], crops[len(crops) // 2]]:
                image = cv2.resize(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), (64, 128))
                blob = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes()
                blobs.append(blob)
                offsets.append(offsets[-1] + len(blob))
        names = [rows[int(t)].camera for t in ids.tolist()]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        vectors=data.vectors,
        cameras=np.array(names),
        starts=data.starts,
        ends=data.ends,
        start_frames=np.array([rows[int(t)].start_frame for t in ids.tolist()]),
        end_frames=np.array([rows[int(t)].end_frame for t in ids.tolist()]),
        lengths=np.array([rows[int(t)].length for t in ids.tolist()]),
        person=person,
        jpegs=np.frombuffer(b"".join(blobs), dtype=np.uint8),
        offsets=np.array(offsets, dtype=np.int64),
        model_id=np.array(model_id),
    )
    print(f"{out}: {len(ids)} tracklets, {out.stat().st_size // 1024} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rru-reid-bench-people")
    parser.add_argument("--scale", type=int, default=10_000, help="tracklets in the speed run (0: no speed run)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--gui", action="store_true", help="also measure the app while it groups --scale tracklets")
    parser.add_argument("--write-fixture", type=Path, help="write the test fixture made from vtest_halves")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.write_fixture:
        write_fixture(args.work, args.write_fixture)
    if not args.no_quality:
        quality(args.work)
    if args.scale and args.gui:  # first: a process that has just grouped 10k tracklets itself is not the app's state
        responsiveness(args.scale, args.work)
    if args.scale:
        speed(args.scale, args.work)


if __name__ == "__main__":
    main()
