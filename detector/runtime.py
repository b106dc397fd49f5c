"""The YOLO ONNX detector on a CPU runtime we choose, with ultralytics' own letterbox and NMS.

``YOLO.predict`` runs an ``.onnx`` file on onnxruntime with default session options and adds
per-call work (argument parsing, a predictor, ``Results`` objects). ``OnnxDetector`` keeps only
what changes the boxes: the same ``LetterBox`` resize, the same ``non_max_suppression`` and
``scale_boxes``, so it returns what ``predict`` returns for the same graph (tested), on

- ``onnxruntime`` with an explicit number of threads (so two ingest processes on two cores do
  not each start two), or
- ``openvino`` (opt-in; a dev/train extra), which runs the same ONNX graph (int8 QDQ included)
  with its own kernels: scores and box edges move a little, so tracklets differ slightly (the
  ingest benchmark measures what that costs on the labelled check set).

onnxruntime is the default: its boxes equal ``predict``'s, so the labelled check sets (made
with ``predict``) keep matching tracklet for tracklet. On a GPU the same onnxruntime path
runs on its CUDA provider when onnxruntime-gpu is installed; otherwise (and for ``.pt`` weights)
ultralytics' own torch path runs (``detector/person_tracker.py``). No GPU was lent while this was
written: the GPU paths are not measured.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

RUNTIMES = ("onnxruntime", "openvino", "ultralytics")
NMS_IOU = 0.7  # ultralytics' predict defaults
MAX_DETECTIONS = 300


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def onnxruntime_has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def resolve_runtime(runtime: str) -> str:
    """The runtime's name, checked (one clear line for an unknown one)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown detector runtime {runtime!r}; choose one of {list(RUNTIMES)}")
    return runtime


class OnnxDetector:
    """Person boxes of BGR frames from a static-shape YOLO ONNX graph (N×84×A output, as ultralytics exports)."""

    def __init__(
        self,
        weights: Path,
        runtime: str = "onnxruntime",
        threads: int | None = None,
        classes: tuple[int, ...] = (0,),
        gpu: bool = False,
        imgsz: int = 640,
    ) -> None:
        self.runtime = runtime
        self.classes = list(classes)
        threads = threads or available_cores()
        if runtime == "openvino":
            import openvino as ov

            core = ov.Core()
            model = core.read_model(str(weights))
            self.input_shape = tuple(d.get_length() if d.is_static else -1 for d in model.inputs[0].get_partial_shape())
            compiled = core.compile_model(
                model, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
            )
            request = compiled.create_infer_request()
            self._infer = lambda x: request.infer({0: x})[compiled.outputs[0]]
        elif runtime == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            providers = ["CPUExecutionProvider"]
            if gpu and onnxruntime_has_cuda():  # onnxruntime-gpu installed: the graph runs on CUDA
                providers.insert(0, "CUDAExecutionProvider")
            session = ort.InferenceSession(str(weights), options, providers=providers)
            graph_input = session.get_inputs()[0]
            self.input_shape = tuple(graph_input.shape)
            self._infer = lambda x: session.run(None, {graph_input.name: x})[0]
        else:
            raise ValueError(f"OnnxDetector runs onnxruntime or openvino, not {runtime!r}")
        if len(self.input_shape) != 4:
            raise ValueError(f"expected an N×3×H×W image input, got {self.input_shape}")
        static = all(isinstance(d, int) and d > 0 for d in self.input_shape[2:])
        self.size = (int(self.input_shape[2]), int(self.input_shape[3])) if static else (imgsz, imgsz)

    def __call__(self, frame: np.ndarray, conf: float):
        """Boxes of one BGR frame above ``conf``, as ultralytics ``Boxes`` on the CPU (what ``predict`` gives)."""
        import torch
        from ultralytics.data.augment import LetterBox
        from ultralytics.engine.results import Boxes
        from ultralytics.utils import ops
        from ultralytics.utils.nms import non_max_suppression

        image = LetterBox(self.size, auto=False, stride=32)(image=frame)
        batch = np.ascontiguousarray(image[None, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        predictions = torch.from_numpy(np.asarray(self._infer(batch)))
        found = non_max_suppression(
            predictions, conf, NMS_IOU, self.classes, False, max_det=MAX_DETECTIONS, nc=0, end2end=False
        )[0]
        found[:, :4] = ops.scale_boxes(self.size, found[:, :4], frame.shape)
        return Boxes(found[:, :6], frame.shape[:2]).cpu().numpy()
