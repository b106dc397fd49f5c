"""Evidence export of a case: one identity's appearances across cameras, as an analyst hands it on.

Into one folder: ``<name>.csv`` (one row per appearance: camera, times, score and model of the
confirming verdict), ``<name>.html`` (a single self-contained report: snapshots embedded, scores,
verdict history with times, model and video hashes), ``<name>_verdicts.csv`` (the verdict history),
``<name>_snapshots/`` (JPEG crops per appearance, as stored) and ``<name>_manifest.json`` (what
the evidence rests on: models with their SHA-256, videos with theirs, and the SHA-256 of every
file written, so a recipient can check nothing was altered).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.clock import format_time
from app.pipeline.identities import CONFIRMED, appearances
from app.pipeline.routes import route_html, route_of, write_route_csv
from reid_core.workspace import TrackletRow, Workspace, WorkspaceError

COLUMNS = (
    "identity", "camera", "tracklet", "video", "start_s", "end_s", "start_frame", "end_frame", "boxes",
    "similarity", "model", "confirmed_at", "snapshots", "start_clock", "end_clock",
)
HISTORY_COLUMNS = ("time", "action", "query", "match", "verdict", "similarity", "model", "identity", "note")
SNAPSHOTS_PER_APPEARANCE = 4


@dataclass(frozen=True)
class CaseFiles:
    csv: Path
    html: Path
    appearances: int
    manifest: Path | None = None
    history: Path | None = None
    snapshots: tuple[Path, ...] = ()


def default_export_folder(workspace: Workspace, identity_id: int) -> Path:
    """``WORKSPACE/exports/<name>-<time>``: a new folder per export, nothing overwritten."""
    name = _stem(workspace.identity_name(identity_id) or "", identity_id)
    return workspace.folder / "exports" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def utc(seconds: float | None) -> str:
    return "" if seconds is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def export_case(workspace: Workspace, identity_id: int, out_dir: str | Path) -> CaseFiles:
    """Write the case's files into ``out_dir`` (created if needed)."""
    name = workspace.identity_name(identity_id)
    if name is None:
        raise WorkspaceError(f"{workspace.path}: no identity {identity_id}")
    seen = appearances(workspace, identity_id)
    members = [t.id for t in seen]
    videos = {v["id"]: v for v in workspace.videos()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(name, identity_id)
    confirming = _confirming_verdicts(workspace, members)
    snapshot_dir = out_dir / f"{stem}_snapshots"
    snapshot_dir.mkdir(exist_ok=True)
    snapshots: dict[int, list[Path]] = {}
    for tracklet in seen:
        snapshots[tracklet.id] = []
        for frame, jpeg in _picked_crops(workspace, tracklet.id):
            path = snapshot_dir / f"tracklet{tracklet.id}_frame{frame}.jpg"
            path.write_bytes(jpeg)
            snapshots[tracklet.id].append(path)
    records = [_record(name, t, videos, confirming.get(t.id), snapshots[t.id], out_dir) for t in seen]
    csv_path = out_dir / f"{stem}.csv"
    _write_csv(csv_path, COLUMNS, records)
    history = [_history_row(event) for event in workspace.label_log(members)]
    history_path = out_dir / f"{stem}_verdicts.csv"
    _write_csv(history_path, HISTORY_COLUMNS, history)
    models = _models(workspace, {r["model"] for r in records if r["model"]})
    used_videos = [_video(videos[t], workspace.cameras()) for t in sorted({t.video_id for t in seen})]
    stops = route_of(seen)  # the person's route: one row per camera visit
    route_path = out_dir / f"{stem}_route.csv"
    write_route_csv(stops, route_path)
    html_path = out_dir / f"{stem}.html"
    report = _report(workspace, name, seen, records, history, models, used_videos, snapshots)
    html_path.write_text(report.replace("</body>", route_html(workspace, stops) + "</body>"))
    written = [csv_path, history_path, route_path, html_path, *[p for paths in snapshots.values() for p in paths]]
    manifest = {
        "identity": {"id": identity_id, "name": name},
        "exported_at": utc(time.time()),
        "workspace": str(workspace.folder.resolve()),
        "appearances": len(seen),
        "models": models,
        "videos": used_videos,
        "files": {str(p.relative_to(out_dir)): _sha256(p) for p in written},
    }
    manifest_path = out_dir / f"{stem}_manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    all_snapshots = tuple(p for paths in snapshots.values() for p in paths)
    return CaseFiles(csv_path, html_path, len(records), manifest_path, history_path, all_snapshots)


def _stem(name: str, identity_id: int) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or f"identity_{identity_id}"


def _confirming_verdicts(workspace: Workspace, members: list[int]) -> dict[int, dict]:
    """For each member, the latest confirmation that put it in the identity (its score and model)."""
    found: dict[int, dict] = {}
    for row in workspace.verdict_rows(members):
        if row["verdict"] == CONFIRMED:
            found[row["match_tracklet_id"]] = row
            found.setdefault(row["query_tracklet_id"], row)  # a query is in by its first confirmation
    return found


def _picked_crops(workspace: Workspace, tracklet_id: int) -> list[tuple[int, bytes]]:
    crops = workspace.crops(tracklet_id)
    step = max(len(crops) // SNAPSHOTS_PER_APPEARANCE, 1)
    return crops[::step][:SNAPSHOTS_PER_APPEARANCE]


def _record(
    name: str, t: TrackletRow, videos: dict[int, dict], verdict: dict | None, snapshots: list[Path], out_dir: Path
) -> dict:
    similarity = verdict["similarity"] if verdict else None
    return {
        "identity": name,
        "camera": t.camera,
        "tracklet": t.id,
        "video": videos[t.video_id]["path"] if t.video_id in videos else "",
        "start_s": f"{t.start_time:.2f}",
        "end_s": f"{t.end_time:.2f}",
        "start_frame": t.start_frame,
        "end_frame": t.end_frame,
        "boxes": t.length,
        "similarity": "" if similarity is None else f"{similarity:.4f}",
        "model": (verdict or {}).get("model_id") or "",
        "confirmed_at": utc(verdict["created_at"]) if verdict else "",
        "snapshots": " ".join(str(p.relative_to(out_dir)) for p in snapshots),
        "start_clock": format_time(t.start_time),  # UTC date and time when the camera's clock is known
        "end_clock": format_time(t.end_time),
    }


def _history_row(event: dict) -> dict:
    return {
        "time": utc(event["at"]),
        "action": event["action"],
        "query": event["query_tracklet_id"] or "",
        "match": event["match_tracklet_id"] or "",
        "verdict": event["verdict"] or "",
        "similarity": "" if event["similarity"] is None else f"{event['similarity']:.4f}",
        "model": event["model_id"] or "",
        "identity": event["identity_id"] or "",
        "note": event["note"] or "",
    }


def _models(workspace: Workspace, model_ids: set[str]) -> list[dict]:
    """The models that scored the confirmations (and the active one): id, name, file and its SHA-256."""
    active = workspace.get_meta("active_model")
    result = []
    for model in workspace.models():
        if model["id"] in model_ids or model["id"] == active:
            path = Path(model["path"])
            result.append({
                "id": model["id"], "name": model["name"], "path": str(path),
                "sha256": _sha256(path) if path.is_file() else "file missing", "active": model["id"] == active,
            })
    return result


def _video(video: dict, cameras: dict[int, str]) -> dict:
    return {"camera": cameras.get(video["camera_id"], ""), "path": video["path"], "sha256": video["content_hash"],
            "start_time_s": video["start_time"], "fps": video["fps"], "frames": video["frame_count"]}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_csv(path: Path, columns: tuple[str, ...], records: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


def _table(columns: tuple[str, ...], rows: list[dict], extra: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns) + ("<th>snapshots</th>" if extra else "")
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in columns)
        body.append(f"<tr>{cells}{f'<td>{extra[i]}</td>' if extra else ''}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _report(
    workspace: Workspace, name: str, seen: list[TrackletRow], records: list[dict], history: list[dict],
    models: list[dict], videos: list[dict], snapshots: dict[int, list[Path]],
) -> str:
    images = [
        "".join(f'<img src="data:image/jpeg;base64,{base64.b64encode(p.read_bytes()).decode("ascii")}" '
                f'height="96" title="{html.escape(p.name)}">' for p in snapshots[t.id])
        for t in seen
    ]
    shown = ("camera", "tracklet", "start_clock", "end_clock", "start_frame", "end_frame", "similarity", "model",
             "confirmed_at", "video")
    cameras = sorted({t.camera for t in seen})
    model_rows = [{**m, "active": "yes" if m["active"] else ""} for m in models]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Case: {html.escape(name)}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;font-size:90%}"
        "table{border-collapse:collapse;margin-bottom:1em}img{margin-right:2px}</style></head><body>"
        f"<h1>Case: {html.escape(name)}</h1>"
        f"<p>{len(seen)} appearances in {len(cameras)} cameras ({html.escape(', '.join(cameras))}). "
        f"Workspace {html.escape(str(workspace.folder.resolve()))}, exported {utc(time.time())}. "
        "Scores are the cosine similarity shown when the match was confirmed, by the model named.</p>"
        f"<h2>Appearances</h2>{_table(shown, records, images)}"
        f"<h2>Verdict history</h2>{_table(HISTORY_COLUMNS, history)}"
        f"<h2>Models</h2>{_table(('id', 'name', 'sha256', 'path', 'active'), model_rows)}"
        f"<h2>Videos</h2>{_table(('camera', 'path', 'sha256', 'start_time_s', 'fps', 'frames'), videos)}"
        "</body></html>\n"
    )
