"""The ``reid`` argument lists of the app's background jobs: one builder per command.

The window runs heavy work as ``reid … --events`` child processes (``app.gui.jobs``); these
functions are the only place that spells those commands' arguments, so a renamed option breaks
one test (tests/app/test_worker_protocol.py parses each list with the real parser), not the app.
The lists leave out ``--events``: the job queue adds it.
"""

from __future__ import annotations

from pathlib import Path

from app.pipeline.people_grouping import GroupingOptions
from app.pipeline.settings import AppSettings

MODEL_MAKERS = ("finetune", "adapt")  # commands that add a model to the workspace


def ingest_args(workspace: str | Path, video: Path, camera: str, start_time: float, settings: AppSettings) -> list[str]:
    """Ingest one video as ``camera``, its first frame at ``start_time`` (s), with the workspace's settings."""
    return [
        "ingest", str(workspace), str(video), "--camera", camera, "--start-time", str(start_time),
        "--stride", str(settings.frame_stride), "--detector", settings.detector, *cluster_args(settings),
    ]  # fmt: skip


def embed_args(workspace: str | Path, checkpoint: Path, settings: AppSettings) -> list[str]:
    """Embed every tracklet ``checkpoint`` has not embedded yet."""
    return ["embed", str(workspace), "--model", str(checkpoint), "--device", settings.device, *cluster_args(settings)]


def cluster_args(settings: AppSettings) -> list[str]:
    """``--cluster ADDRESS`` when the workspace's settings send ingest and embed to a Ray cluster."""
    return ["--cluster", settings.cluster] if settings.cluster else []


def finetune_args(
    workspace: str | Path, epochs: int, settings: AppSettings, extra: list[str] | None = None
) -> list[str]:
    """Fine-tune on the confirmed identities, then embed the workspace with the new model and make it active.
    ``extra``: further finetune options (tests pass ``--set`` overrides)."""
    return ["finetune", str(workspace), "--embed", "--epochs", str(epochs), "--device", settings.device, *(extra or [])]


def people_args(workspace: str | Path, options: GroupingOptions) -> list[str]:
    """Group all tracklets into proposed people with ``options``."""
    args = ["people", str(workspace), "--threshold", str(options.threshold), "--handover", str(options.handover_s)]
    return args + ([] if options.time_constraints else ["--no-time-constraints"])
