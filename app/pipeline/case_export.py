"""Export a case: one identity's appearances across cameras as CSV and a self-contained HTML report."""

from __future__ import annotations

import base64
import csv
import html
import re
import time
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.identities import appearances
from app.pipeline.routes import route_html, route_of, write_route_csv
from reid_core.workspace import Workspace, WorkspaceError

COLUMNS = ("identity", "camera", "tracklet", "video", "start_s", "end_s", "start_frame", "end_frame", "boxes")


@dataclass(frozen=True)
class CaseFiles:
    csv: Path
    html: Path
    appearances: int


def export_case(workspace: Workspace, identity_id: int, out_dir: str | Path) -> CaseFiles:
    """Write ``<name>.csv`` and ``<name>.html`` (thumbnails embedded, so the report is one file)."""
    name = workspace.identity_name(identity_id)
    if name is None:
        raise WorkspaceError(f"{workspace.path}: no identity {identity_id}")
    seen = appearances(workspace, identity_id)
    videos = {v["id"]: v["path"] for v in workspace.videos()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", name).strip("_") or f"identity_{identity_id}"
    records = [
        {
            "identity": name,
            "camera": t.camera,
            "tracklet": t.id,
            "video": videos.get(t.video_id, ""),
            "start_s": f"{t.start_time:.2f}",
            "end_s": f"{t.end_time:.2f}",
            "start_frame": t.start_frame,
            "end_frame": t.end_frame,
            "boxes": t.length,
        }
        for t in seen
    ]
    csv_path = out_dir / f"{stem}.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    stops = route_of(seen)  # the person's route: one row per camera visit
    write_route_csv(stops, out_dir / f"{stem}_route.csv")
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(
        _report(workspace, name, seen, records).replace("</body>", route_html(workspace, stops) + "</body>")
    )
    return CaseFiles(csv_path, html_path, len(records))


def _thumbnails(workspace: Workspace, tracklet_id: int, count: int = 4) -> list[str]:
    crops = workspace.crops(tracklet_id)
    if not crops:
        return []
    step = max(len(crops) // count, 1)
    return [base64.b64encode(jpeg).decode("ascii") for _, jpeg in crops[::step][:count]]


def _report(workspace: Workspace, name: str, seen: list, records: list[dict]) -> str:
    rows = []
    for tracklet, record in zip(seen, records):
        thumbnails = _thumbnails(workspace, tracklet.id)
        images = "".join(f'<img src="data:image/jpeg;base64,{b}" height="96">' for b in thumbnails)
        cells = "".join(f"<td>{html.escape(str(record[c]))}</td>" for c in COLUMNS[1:])
        rows.append(f"<tr>{cells}<td>{images}</td></tr>")
    header = "".join(f"<th>{c}</th>" for c in COLUMNS[1:])
    cameras = sorted({t.camera for t in seen})
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Case: {html.escape(name)}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px}"
        "table{border-collapse:collapse}img{margin-right:2px}</style></head><body>"
        f"<h1>Case: {html.escape(name)}</h1>"
        f"<p>{len(seen)} appearances in {len(cameras)} cameras ({html.escape(', '.join(cameras))}). "
        f"Workspace {html.escape(str(workspace.folder.resolve()))}, exported {time.strftime('%Y-%m-%d %H:%M')}.</p>"
        f"<table><tr>{header}<th>frames</th></tr>{''.join(rows)}</table></body></html>\n"
    )
