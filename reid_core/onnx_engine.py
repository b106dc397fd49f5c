"""ONNX export of the embedder as per-stage graphs, and an onnxruntime engine that runs them.

A recurrence over a variable number of frames does not export as one graph (a Python loop
is unrolled to a fixed length), so the model is cut where the streaming torch driver cuts
it: backbone (N frames), one RRU step, the STIM 1×1×1 projection (N frames), and the STIM
3×3×3 window. The same driver (``Embedder``) then runs either engine. The RRU step and the
window take a batch of tracklets (format 2); a folder exported before that (format 1, one
tracklet per call) is refused by ``OnnxStages`` and reported stale by ``is_current_export``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reid_core.backbones import BackboneSpec
from reid_core.embedder import DEFAULT_CHUNK, DEFAULT_TRACKLETS, Embedder
from reid_core.model import ModelConfig, ReIDModel
from reid_core.temporal import StimStream, TemporalPool

MANIFEST = "manifest.json"
STAGE_FILES = {
    "backbone": "backbone.onnx",
    "refine": "rru_step.onnx",
    "project": "stim_project.onnx",
    "window": "stim_window.onnx",
}
OPSET = 18
FORMAT = 2  # 2: the RRU step and the STIM window take a batch of tracklets


class _Backbone(nn.Module):
    def __init__(self, model: ReIDModel) -> None:
        super().__init__()
        self.backbone = model.backbone

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(frames)


class _RefineStep(nn.Module):
    def __init__(self, model: ReIDModel) -> None:
        super().__init__()
        assert model.rru is not None
        self.rru = model.rru

    def forward(self, x_prev: torch.Tensor, s_prev: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, z = self.rru.step(x_prev, s_prev, x)
        return s, z.mean(dim=1)


class _Project(nn.Module):
    def __init__(self, model: ReIDModel) -> None:
        super().__init__()
        self.stim = model.temporal

    def forward(self, refined: torch.Tensor) -> torch.Tensor:
        return self.stim.project(refined)


class _Window(nn.Module):
    def __init__(self, model: ReIDModel) -> None:
        super().__init__()
        self.stim = model.temporal

    def forward(self, projected: torch.Tensor) -> torch.Tensor:
        return self.stim.window_sums(projected)


def export_onnx(model: ReIDModel, out_dir: str | Path) -> Path:
    """Write the four stage graphs and a manifest into ``out_dir``; returns the folder."""
    config = model.config
    if not (config.rru and config.temporal == "stim"):
        raise ValueError("ONNX export supports the RRU+STIM embedder (variant 'rru_stim') only")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    spec = model.spec
    channels, (h, w) = spec.channels, spec.map_size
    frames = torch.randn(3, 3, *spec.input_size)
    frames_dim = torch.export.Dim("frames", min=1)
    rows_dim = torch.export.Dim("rows", min=1)
    window_dim = torch.export.Dim("window", min=3)
    step_maps = torch.randn(2, channels, h, w)  # 2 rows, so the exporter does not specialise the batch to 1
    jobs = [
        ("backbone", _Backbone(model), (frames,), {"frames": {0: frames_dim}}, ["frames"], ["maps"]),
        (
            "refine",
            _RefineStep(model),
            (step_maps, step_maps * 0.5, step_maps.flip(0)),
            {"x_prev": {0: rows_dim}, "s_prev": {0: rows_dim}, "x": {0: rows_dim}},
            ["x_prev", "s_prev", "x"],
            ["s", "heat"],
        ),
        (
            "project",
            _Project(model),
            (torch.randn(3, channels, h, w),),
            {"refined": {0: frames_dim}},
            ["refined"],
            ["projected"],
        ),
        (
            "window",
            _Window(model),
            (torch.randn(2, 4, 256, h, w),),
            {"projected": {0: rows_dim, 1: window_dim}},
            ["projected"],
            ["sums"],
        ),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stage, module, args, dynamic, inputs, outputs in jobs:
            torch.onnx.export(
                module,
                args,
                str(out_dir / STAGE_FILES[stage]),
                input_names=inputs,
                output_names=outputs,
                dynamic_shapes=dynamic,
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    manifest = {"format": FORMAT, "config": config.to_dict(), "spec": asdict(spec)}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out_dir


def is_current_export(folder: str | Path) -> bool:
    """Whether ``folder`` holds an export this version runs (a manifest of the current format)."""
    manifest = Path(folder) / MANIFEST
    try:
        return json.loads(manifest.read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


class OnnxStages:
    """onnxruntime implementation of the embedder stages (CPU, or CUDA if available).

    ``threads``: onnxruntime's intra-op threads (None: its default, one per physical core).
    """

    has_rru = True

    def __init__(self, folder: str | Path, providers: list[str] | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        folder = Path(folder)
        manifest = folder / MANIFEST
        if not manifest.is_file():
            raise FileNotFoundError(f"{folder}: not an exported ONNX embedder (no {MANIFEST})")
        if not is_current_export(folder):
            raise ValueError(f"{folder}: exported by an older version (format {FORMAT} needed); export it again")
        data = json.loads(manifest.read_text())
        self.config = ModelConfig.from_dict(data["config"])
        self.spec = BackboneSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["spec"].items()})

        def options(stage: str) -> ort.SessionOptions:
            """The RRU step, called once per frame step with a few MFLOP, runs on the calling thread
            (waking a thread pool for it costs more than it saves, most of all on a busy machine)."""
            chosen = ort.SessionOptions()
            chosen.log_severity_level = 3
            if stage == "refine":
                chosen.intra_op_num_threads = 1
                chosen.add_session_config_entry("session.intra_op.allow_spinning", "0")
            elif threads is not None:
                chosen.intra_op_num_threads = threads
            return chosen

        providers = providers or ["CPUExecutionProvider"]
        self.sessions = {
            stage: ort.InferenceSession(str(folder / name), options(stage), providers=providers)
            for stage, name in STAGE_FILES.items()
        }

    def _run(self, stage: str, *arrays: torch.Tensor) -> list[np.ndarray]:
        session = self.sessions[stage]
        feeds = {
            inp.name: np.ascontiguousarray(a.detach().cpu().numpy(), dtype=np.float32)
            for inp, a in zip(session.get_inputs(), arrays)
        }
        return session.run(None, feeds)

    def maps(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._run("backbone", frames)[0])

    def refine(self, x_prev, s_prev, x):
        s, heat = self._run("refine", x_prev, s_prev, x)
        return torch.from_numpy(s), torch.from_numpy(heat)

    def pool(self, count: int) -> TemporalPool:
        return StimStream(
            lambda refined: torch.from_numpy(self._run("project", refined)[0]),
            lambda projected: torch.from_numpy(self._run("window", projected)[0]),
            count,
        )


def onnx_embedder(
    folder: str | Path,
    chunk_size: int = DEFAULT_CHUNK,
    providers: list[str] | None = None,
    max_tracklets: int = DEFAULT_TRACKLETS,
    threads: int | None = None,
) -> Embedder:
    return Embedder(OnnxStages(folder, providers, threads), chunk_size, max_tracklets)
