"""What the matches panel shows for a query, headless: the model, the ranking, the verdicts, the notices.

``matches_for`` picks the model queries use, checks the query has a vector in it, ranks the other
cameras with the panel's filters and attaches the person's verdicts, returning display rows; the
panel (``app.gui.matches``) only renders them. It runs on the panel's worker thread with its own
connection, reusing the memory-mapped vector index it keeps in ``indexes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.clock import format_span
from app.pipeline.identities import identity_verdicts
from app.pipeline.query import Match, QueryOptions, active_model_id, rank_in_index
from reid_core.store.vector_index import VectorIndex, open_index
from reid_core.workspace import TrackletRow, Workspace

THUMBNAIL_BATCH = 8  # thumbnails per delivery: the table fills at once, the pictures follow in small steps
COLUMNS = ("", "rank", "tracklet", "camera", "time", "similarity", "verdict")  # column 0: the thumbnail
SCORE_HEADERS = {False: "similarity", True: "re-ranked distance"}  # what the rows are ordered by


@dataclass(frozen=True)
class MatchRow:
    """One ranked candidate as the table shows it."""

    match: Match
    verdict: str  # "" or a verdict that holds for the query's person (identities.CONFIRMED / REJECTED)

    def cells(self) -> tuple[str, ...]:
        """The text of columns 1… (rank, tracklet, camera, time, score, verdict)."""
        m = self.match
        score = m.distance if m.distance is not None else m.similarity
        span = format_span(m.start_time, m.end_time)
        return str(m.rank), str(m.tracklet_id), m.camera, span, f"{score:.3f}", self.verdict


@dataclass(frozen=True)
class MatchList:
    """The answer to one query: rows in rank order, or why there are none yet."""

    query: TrackletRow
    model_id: str
    rows: list[MatchRow]
    notice: str = ""  # what the operator should know about the results ("" if nothing)
    not_ready: str = ""  # set when the query has no vector in the active model yet (then ``rows`` is empty)

    @property
    def reranked(self) -> bool:
        return any(row.match.distance is not None for row in self.rows)

    @property
    def score_header(self) -> str:
        return SCORE_HEADERS[self.reranked]

    def heading(self) -> str:
        """The panel's title line (rich text)."""
        q = self.query
        return (
            f"<b>Query</b> tracklet #{q.id}, camera {q.camera}, {format_span(q.start_time, q.end_time)}: "
            f"{len(self.rows)} matches from other cameras"
        )


def matches_for(
    workspace: Workspace,
    tracklet_ids: list[int],
    options: QueryOptions,
    indexes: dict[tuple[Path, str], VectorIndex] | None = None,
) -> MatchList:
    """Rank the other cameras for these tracklets of one person with the active model.

    ``indexes`` keeps open vector indexes between calls (by workspace folder and model). Raises
    ``WorkspaceError`` when nothing is embedded at all."""
    indexes = {} if indexes is None else indexes
    query = workspace.tracklet(tracklet_ids[0])
    model_id = active_model_id(workspace)
    key = (workspace.folder, model_id)
    index = indexes[key] = open_index(workspace, model_id, indexes.get(key))
    _, missing = index.rows_of(tracklet_ids)
    if missing:
        return MatchList(query, model_id, [], not_ready=not_embedded_yet(workspace, model_id, missing))
    matches = rank_in_index(workspace, index, tracklet_ids, options)
    decided = identity_verdicts(workspace, tracklet_ids[0])  # the person's, not the row's
    rows = [MatchRow(m, decided.get(m.tracklet_id, "")) for m in matches]
    return MatchList(query, model_id, rows, notice=cameras_not_embedded(workspace, model_id, len(index)))


def thumbnail_batches(workspace: Workspace, tracklet_ids: list[int]) -> Iterator[list[tuple[int, bytes | None]]]:
    """The tracklets' thumbnails (JPEG bytes, None if a tracklet has none), a few at a time."""
    for start in range(0, len(tracklet_ids), THUMBNAIL_BATCH):
        chunk = tracklet_ids[start : start + THUMBNAIL_BATCH]
        yield [(t, workspace.thumbnail(t)) for t in chunk]


def model_name(workspace: Workspace, model_id: str) -> str:
    model = workspace.model(model_id)
    return str(model["name"]) if model else model_id[:12]


def not_embedded_yet(workspace: Workspace, model_id: str, tracklet_ids: list[int]) -> str:
    """What to tell the operator when the query has no vector for the active model (not an error)."""
    which = ", ".join(f"#{t}" for t in tracklet_ids)
    return (
        f"{which} not embedded by model {model_name(workspace, model_id)} yet: it is embedded in the "
        "background (see Background jobs); pick another model in the toolbar meanwhile."
    )


def cameras_not_embedded(workspace: Workspace, model_id: str, indexed: int) -> str:
    """Which cameras the active model cannot search in full yet (cheap when nothing is missing)."""
    if indexed >= workspace.tracklet_count():
        return ""
    missing = workspace.unembedded_by_camera(model_id)
    listed = ", ".join(f"{camera} ({count})" for camera, count in missing.items())
    return f"Not yet embedded by {model_name(workspace, model_id)}, so not searched yet: {listed}." if missing else ""
