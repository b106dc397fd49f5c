"""Cameras, videos, tracklets, boxes and crops: what ingestion writes and every view reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing

from reid_core.store.base import StoreBase
from reid_core.store.location import is_database_url
from reid_core.store.schema import TRACKLET_SELECT, TrackletRow, WorkspaceError

Box = tuple[float, float, float, float]


class FootageStore(StoreBase):
    # -- cameras and videos -----------------------------------------------------------
    def camera_id(self, name: str) -> int:
        """Id of the named camera, creating it if needed."""
        row = self.db.execute("SELECT id FROM cameras WHERE name = ?", [name]).fetchone()
        if row:
            return int(row[0])
        return int(self.db["cameras"].insert({"name": name}).last_pk)

    def cameras(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT id, name FROM cameras ORDER BY id").fetchall())

    def video_by_hash(self, digest: str) -> dict | None:
        rows = list(self.db["videos"].rows_where("content_hash = ?", [digest]))
        return rows[0] if rows else None

    def videos(self) -> list[dict]:
        return list(self.db["videos"].rows_where(order_by="id"))

    def add_video(self, video: dict) -> int:
        """Insert a ``videos`` row (columns as in the schema, without ``id``); returns its id."""
        return int(self.db["videos"].insert(video).last_pk)

    def set_frames_processed(self, video_id: int, frames: int) -> None:
        """How many frames of a video the tracker has seen so far (ingestion writes as it goes)."""
        self.db.execute("UPDATE videos SET frames_processed = ? WHERE id = ?", [frames, video_id])

    # -- writing tracklets --------------------------------------------------------------
    def add_tracklet(
        self,
        tracklet: dict,
        boxes: Iterable[tuple[int, Box, float]],
        crops: Iterable[tuple[int, bytes]],
    ) -> int:
        """Insert one tracklet row (schema columns without ``id``), its boxes (frame, box, score)
        and its JPEG crops (frame, bytes); returns the tracklet id. Call inside ``transaction()``
        to make a whole video one unit."""
        tracklet_id = int(self.db["tracklets"].insert(tracklet).last_pk)
        self.db.conn.executemany(
            "INSERT INTO boxes (tracklet_id, frame, x1, y1, x2, y2, score) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(tracklet_id, frame, *box, score) for frame, box, score in boxes],
        )
        self.db.conn.executemany(
            "INSERT INTO crops (tracklet_id, frame, jpeg) VALUES (?, ?, ?)",
            [(tracklet_id, frame, jpeg) for frame, jpeg in crops],
        )
        return tracklet_id

    def add_tracklets(self, tracklets: list[dict]) -> None:
        """Insert many tracklet rows at once (with their ``id``s), without boxes or crops: for
        synthetic workspaces (benchmarks) and imports."""
        self.db["tracklets"].insert_all(tracklets, batch_size=10_000)

    # -- reading tracklets --------------------------------------------------------------
    def tracklet_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM tracklets").fetchone()[0])

    def tracklets(self, camera_ids: list[int] | None = None) -> list[TrackletRow]:
        sql = TRACKLET_SELECT
        params: list = []
        if camera_ids is not None:
            sql += f" WHERE t.camera_id IN ({','.join('?' * len(camera_ids))})"
            params = list(camera_ids)
        return [TrackletRow(*row) for row in self.db.execute(sql + " ORDER BY t.id", params).fetchall()]

    def tracklet_page(self, after_id: int = 0, limit: int = 500) -> list[TrackletRow]:
        """The next ``limit`` tracklets by id after ``after_id``: what a list view fetches as it scrolls
        (keyset paging, so page 1000 costs what page 1 does)."""
        rows = self.db.execute(f"{TRACKLET_SELECT} WHERE t.id > ? ORDER BY t.id LIMIT ?", [after_id, limit])
        return [TrackletRow(*row) for row in rows.fetchall()]

    def tracklet(self, tracklet_id: int) -> TrackletRow:
        row = self.db.execute(f"{TRACKLET_SELECT} WHERE t.id = ?", [tracklet_id]).fetchone()
        if row is None:
            raise WorkspaceError(f"{self.path}: no tracklet {tracklet_id}")
        return TrackletRow(*row)

    def tracklets_by_id(self, tracklet_ids: Iterable[int]) -> dict[int, TrackletRow]:
        """The rows of these tracklets (missing ids are left out), read in one statement per 500 ids."""
        wanted = sorted({int(t) for t in tracklet_ids})
        found: dict[int, TrackletRow] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            sql = f"{TRACKLET_SELECT} WHERE t.id IN ({','.join('?' * len(chunk))})"
            found.update((row[0], TrackletRow(*row)) for row in self.db.execute(sql, chunk).fetchall())
        return found

    def track_spans(self) -> list[tuple[int, int, int, int, int, int]]:
        """(id, video_id, camera_id, track_id, start_frame, end_frame) of every tracklet, by video and start."""
        return self.db.execute(
            "SELECT id, video_id, camera_id, track_id, start_frame, end_frame FROM tracklets "
            "ORDER BY video_id, start_frame"
        ).fetchall()

    def boxes(self, tracklet_id: int) -> list[dict]:
        return list(self.db["boxes"].rows_where("tracklet_id = ?", [tracklet_id], order_by="frame"))

    def boxes_by_frame(self, video_id: int) -> dict[int, list[tuple[int, float, float, float, float]]]:
        """Every stored box of a video, by frame: (tracklet id, x1, y1, x2, y2); what a player draws."""
        rows = self.db.execute(
            "SELECT b.frame, b.tracklet_id, b.x1, b.y1, b.x2, b.y2 FROM boxes b "
            "JOIN tracklets t ON t.id = b.tracklet_id WHERE t.video_id = ? ORDER BY b.frame",
            [video_id],
        ).fetchall()
        by_frame: dict[int, list[tuple[int, float, float, float, float]]] = {}
        for frame, tracklet_id, *box in rows:
            by_frame.setdefault(int(frame), []).append((int(tracklet_id), *box))
        return by_frame

    def crops(self, tracklet_id: int) -> list[tuple[int, bytes]]:
        return [
            (int(f), bytes(j))
            for f, j in self.db.execute(
                "SELECT frame, jpeg FROM crops WHERE tracklet_id = ? ORDER BY frame", [tracklet_id]
            ).fetchall()
        ]

    def crop_frames(self, tracklet_id: int) -> tuple[int, ...]:
        """The frames a tracklet has crops for, in order, without reading the JPEGs."""
        rows = self.db.execute("SELECT frame FROM crops WHERE tracklet_id = ? ORDER BY frame", [tracklet_id])
        return tuple(int(r[0]) for r in rows)

    def thumbnail(self, tracklet_id: int) -> bytes | None:
        """The middle crop's JPEG, without reading the tracklet's other crops."""
        row = self.db.execute(
            "SELECT jpeg FROM crops WHERE tracklet_id = ? ORDER BY frame LIMIT 1 "
            "OFFSET (SELECT COUNT(*) FROM crops WHERE tracklet_id = ?) / 2",
            [tracklet_id, tracklet_id],
        ).fetchone()
        return bytes(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        return {
            name: self.db[name].count
            for name in ("cameras", "videos", "tracklets", "boxes", "crops", "embeddings", "models")
        }


def read_crops(database: str, tracklet_id: int) -> dict[int, bytes]:
    """A tracklet's JPEG crops by frame, through a read-only connection of its own: for data loader
    workers, which must not share the workspace's connection across processes. ``database``: the
    SQLite file, or a ``postgresql://`` URL."""
    if is_database_url(database):
        from reid_core.store.postgres_workspace import read_server_crops  # imports psycopg

        return read_server_crops(database, tracklet_id)
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return dict(conn.execute("SELECT frame, jpeg FROM crops WHERE tracklet_id = ?", [tracklet_id]))
