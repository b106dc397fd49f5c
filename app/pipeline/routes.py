"""A person's route: the cameras they went through, in time order, one stop per visit.

Consecutive appearances in one camera (no other camera between them) are one stop. Rows for the
CLI's JSON, the case export's CSV and its HTML report all come from ``person_route``.
"""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.pipeline.people import seconds
from reid_core.workspace import TrackletRow, Workspace

ROUTE_COLUMNS = ("stop", "camera", "start_s", "end_s", "tracklets", "thumbnail_tracklet")


@dataclass(frozen=True)
class RouteStop:
    stop: int  # 1, 2, ... in time order
    camera: str
    start_s: float
    end_s: float
    tracklets: tuple[int, ...]
    thumbnail_tracklet: int  # the stop's longest tracklet: its middle crop shows the person


def route_of(rows: Iterable[TrackletRow]) -> list[RouteStop]:
    """The stops of these tracklets (one person's), in time order."""
    ordered = sorted(rows, key=lambda r: (r.start_time, r.id))
    if not ordered:
        return []
    starts, ends = seconds(np.array([r.start_time for r in ordered]), np.array([r.end_time for r in ordered]))
    visits: list[list[int]] = []
    for index, row in enumerate(ordered):
        if visits and ordered[visits[-1][-1]].camera == row.camera:
            visits[-1].append(index)
        else:
            visits.append([index])
    return [
        RouteStop(
            number + 1,
            ordered[visit[0]].camera,
            float(starts[visit].min()),
            float(ends[visit].max()),
            tuple(ordered[i].id for i in visit),
            max((ordered[i] for i in visit), key=lambda r: (r.length, -r.id)).id,
        )
        for number, visit in enumerate(visits)
    ]


def person_route(workspace: Workspace, tracklet_ids: Iterable[int]) -> list[RouteStop]:
    return route_of(workspace.tracklets_by_id(tracklet_ids).values())


def route_json(workspace: Workspace, proposal_id: int) -> dict:
    """One proposed person's route as the CLI prints it (JSON-ready)."""
    members = workspace.proposal_members(proposal_id)
    stops = person_route(workspace, members)
    return {"person": proposal_id, "tracklets": len(members), "stops": [asdict(s) for s in stops]}


def write_route_csv(stops: list[RouteStop], path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROUTE_COLUMNS)
        writer.writeheader()
        for s in stops:
            record = asdict(s) | {"start_s": f"{s.start_s:.2f}", "end_s": f"{s.end_s:.2f}"}
            writer.writerow(record | {"tracklets": " ".join(str(t) for t in s.tracklets)})
    return path


def route_html(workspace: Workspace, stops: list[RouteStop]) -> str:
    """The route as an HTML section (every text escaped, one embedded thumbnail per stop)."""
    rows = []
    for s in stops:
        jpeg = workspace.thumbnail(s.thumbnail_tracklet)
        image = (
            f'<img src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode("ascii")}" height="96">' if jpeg else ""
        )
        cells = (s.stop, s.camera, f"{s.start_s:.2f}", f"{s.end_s:.2f}", " ".join(map(str, s.tracklets)))
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + f"<td>{image}</td></tr>")
    header = "".join(f"<th>{c}</th>" for c in ("stop", "camera", "start_s", "end_s", "tracklets", "thumbnail"))
    return f"<h2>Route</h2><table><tr>{header}</tr>{''.join(rows)}</table>"
