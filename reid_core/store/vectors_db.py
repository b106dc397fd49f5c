"""Re-ID models, their embeddings (one unit vector per tracklet and model) and gate heatmaps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from reid_core.store.base import StoreBase


class VectorRows(NamedTuple):
    rowids: np.ndarray  # int64
    tracklet_ids: np.ndarray  # int64
    camera_ids: np.ndarray  # int32
    start_times: np.ndarray  # float64 seconds
    end_times: np.ndarray  # float64 seconds
    vectors: np.ndarray  # float32, one row per tracklet


class ModelStore(StoreBase):
    # -- models -------------------------------------------------------------------------
    def register_model(
        self, model_id: str, name: str, path: str, backbone: str, feature_dim: int, config: dict
    ) -> None:
        self.db["models"].upsert(
            {
                "id": model_id,
                "name": name,
                "path": path,
                "backbone": backbone,
                "feature_dim": feature_dim,
                "config": json.dumps(config),
                "created_at": time.time(),
            },
            pk="id",
        )

    def models(self) -> list[dict]:
        return list(self.db["models"].rows_where(order_by="created_at"))

    def model(self, model_id: str) -> dict | None:
        rows = list(self.db["models"].rows_where("id = ?", [model_id]))
        return rows[0] if rows else None

    def delete_model(self, model_id: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM gate_maps WHERE model_id = ?", [model_id])
            self.db.execute("DELETE FROM embeddings WHERE model_id = ?", [model_id])
            self.db.execute("DELETE FROM models WHERE id = ?", [model_id])
        from reid_core.store.vector_index import remove_index  # the index module builds on this one

        remove_index(self, model_id)

    # -- which tracklets are embedded ---------------------------------------------------
    def has_embeddings(self, model_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM embeddings WHERE model_id = ? LIMIT 1", [model_id]).fetchone() is not None

    def newest_embedded_model(self) -> str | None:
        """The most recently registered model that has embeddings, if any."""
        row = self.db.execute(
            "SELECT m.id FROM models m WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = m.id) "
            "ORDER BY m.created_at DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None

    def embedded_counts(self) -> dict[str, int]:
        """Embedded tracklets per model id (models without embeddings are absent)."""
        rows = self.db.execute("SELECT model_id, vectors FROM vector_stamps WHERE vectors > 0").fetchall()
        return {str(m): int(n) for m, n in rows}  # kept by triggers: no scan of the embeddings

    def unembedded_tracklets(self, model_id: str) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM tracklets WHERE id NOT IN (SELECT tracklet_id FROM embeddings WHERE model_id = ?) "
                "ORDER BY id",
                [model_id],
            ).fetchall()
        ]

    def unembedded_by_camera(self, model_id: str) -> dict[str, int]:
        """Camera name → tracklets this model has not embedded yet (cameras with none missing are absent)."""
        rows = self.db.execute(
            "SELECT c.name, COUNT(*) FROM tracklets t JOIN cameras c ON c.id = t.camera_id "
            "WHERE t.id NOT IN (SELECT tracklet_id FROM embeddings WHERE model_id = ?) GROUP BY c.name ORDER BY c.name",
            [model_id],
        ).fetchall()
        return {str(name): int(n) for name, n in rows}

    def any_unembedded(self) -> bool:
        """Whether no model has embedded every tracklet yet (an embed job stopped early)."""
        row = self.db.execute("SELECT MAX(vectors) FROM vector_stamps").fetchone()
        return self.tracklet_count() > int(row[0] or 0)

    # -- vectors and heatmaps -------------------------------------------------------------
    def save_embedding(
        self,
        tracklet_id: int,
        model_id: str,
        vector: np.ndarray,
        gate_frames: list[int] | None,
        heatmaps: np.ndarray | None,
    ) -> None:
        """Store f (float32, unit length) and the gate heatmaps in one transaction."""
        with self.db.atomic():
            self.save_embeddings(model_id, [tracklet_id], vector.reshape(1, -1))
            if heatmaps is not None:
                self.db["gate_maps"].upsert(
                    {
                        "tracklet_id": tracklet_id,
                        "model_id": model_id,
                        "frames": json.dumps(gate_frames),
                        "height": heatmaps.shape[1],
                        "width": heatmaps.shape[2],
                        "data": heatmaps.astype(np.float16).tobytes(),
                    },
                    pk=("tracklet_id", "model_id"),
                )

    def save_embeddings(self, model_id: str, tracklet_ids: list[int], vectors: np.ndarray) -> None:
        """Store one float32 vector per tracklet (a row of ``vectors``); one already stored is replaced.

        A plain INSERT for a new row (an upsert that always UPDATEs would count as a rewrite in the
        vector stamps and force the vector index to be rebuilt instead of extended)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.db.conn.executemany(
            "INSERT INTO embeddings (tracklet_id, model_id, dim, vector) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(tracklet_id, model_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector",
            [(int(t), model_id, vectors.shape[1], v.tobytes()) for t, v in zip(tracklet_ids, vectors)],
        )

    def embeddings(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(tracklet ids, N×D float32 matrix) for one model, read from SQLite (the vector index is faster)."""
        rows = self.db.execute(
            "SELECT tracklet_id, vector FROM embeddings WHERE model_id = ? ORDER BY tracklet_id", [model_id]
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    # -- what the vector index is built from and checked against ---------------------------
    def workspace_uid(self) -> str:
        """A random id given to the workspace once: an index copied from another workspace is not trusted."""
        return self.get_meta("uid", "") or ""

    def vector_stamp(self, model_id: str) -> tuple[int, int]:
        """(vectors stored, times one was changed or removed) for a model, kept by triggers."""
        row = self.db.execute("SELECT vectors, rewrites FROM vector_stamps WHERE model_id = ?", [model_id]).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def vector_rows(self, model_id: str, after_rowid: int = 0, batch: int = 65_536) -> Iterator[VectorRows]:
        """A model's vectors with rowid > ``after_rowid`` in rowid order (the order they were added),
        with what the filters need from their tracklets; in batches of arrays."""
        cursor = self.db.execute(
            "SELECT e.rowid, e.tracklet_id, t.camera_id, t.start_time, t.end_time, e.vector "
            "FROM embeddings e JOIN tracklets t ON t.id = e.tracklet_id "
            "WHERE e.model_id = ? AND e.rowid > ? ORDER BY e.rowid",
            [model_id, after_rowid],
        )
        while rows := cursor.fetchmany(batch):
            columns = list(zip(*rows))
            yield VectorRows(
                np.array(columns[0], dtype=np.int64),
                np.array(columns[1], dtype=np.int64),
                np.array(columns[2], dtype=np.int32),
                np.array(columns[3], dtype=np.float64),
                np.array(columns[4], dtype=np.float64),
                np.frombuffer(b"".join(columns[5]), dtype=np.float32).reshape(len(rows), -1),
            )

    def gate_maps(self, tracklet_id: int, model_id: str) -> tuple[list[int], np.ndarray] | None:
        row = self.db.execute(
            "SELECT frames, height, width, data FROM gate_maps WHERE tracklet_id = ? AND model_id = ?",
            [tracklet_id, model_id],
        ).fetchone()
        if row is None:
            return None
        frames = json.loads(row[0])
        return frames, np.frombuffer(row[3], dtype=np.float16).reshape(len(frames), row[1], row[2])
