"""Re-ID models, their embeddings (one unit vector per tracklet and model) and gate heatmaps."""

from __future__ import annotations

import json
import time

import numpy as np

from reid_core.store.base import StoreBase


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
        rows = self.db.execute("SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id").fetchall()
        return {str(m): int(n) for m, n in rows}

    def unembedded_tracklets(self, model_id: str) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM tracklets WHERE id NOT IN (SELECT tracklet_id FROM embeddings WHERE model_id = ?) "
                "ORDER BY id",
                [model_id],
            ).fetchall()
        ]

    def any_unembedded(self) -> bool:
        """Whether some tracklet has no embedding by any model (an embed job stopped early)."""
        row = self.db.execute(
            "SELECT 1 FROM tracklets WHERE id NOT IN (SELECT tracklet_id FROM embeddings) LIMIT 1"
        ).fetchone()
        return row is not None

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
            self.db["embeddings"].upsert(
                {
                    "tracklet_id": tracklet_id,
                    "model_id": model_id,
                    "dim": vector.size,
                    "vector": vector.astype(np.float32).tobytes(),
                },
                pk=("tracklet_id", "model_id"),
            )
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

    def embeddings(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(tracklet ids, N×D float32 matrix) for one model."""
        rows = self.db.execute(
            "SELECT tracklet_id, vector FROM embeddings WHERE model_id = ? ORDER BY tracklet_id", [model_id]
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def gate_maps(self, tracklet_id: int, model_id: str) -> tuple[list[int], np.ndarray] | None:
        row = self.db.execute(
            "SELECT frames, height, width, data FROM gate_maps WHERE tracklet_id = ? AND model_id = ?",
            [tracklet_id, model_id],
        ).fetchone()
        if row is None:
            return None
        frames = json.loads(row[0])
        return frames, np.frombuffer(row[3], dtype=np.float16).reshape(len(frames), row[1], row[2])
