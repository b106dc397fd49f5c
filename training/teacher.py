"""A teacher re-ID network (Intel OMZ, OpenVINO IR) that gives per-crop embeddings and the student's maps.

The student's backbone is the teacher's own feature extractor, so one pass of the teacher
yields both the map the student's RRU+STIM read (the layer the backbone program ends at) and
the teacher's embedding, the distillation target. PyPI ``openvino`` runs it when installed
(the training extra); otherwise the same graph runs in torch (``GraphNet``, equal to 1e-5).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from reid_core.backbones import OmzReid0287Backbone
from reid_core.graph_net import GraphNet
from reid_core.hashing import sha256_file
from reid_core.openvino_ir import read_ir

INPUT_SIZE = (128, 256)  # (width, height) the OMZ IR takes
LICENCE = "Apache-2.0 (Intel Open Model Zoo); trained by Intel on research-only data (MSMT17 / Market-1501)"


class Teacher:
    def __init__(self, xml: str | Path, map_layer: int | None = None) -> None:
        """``map_layer``: where the student's backbone ends (default: the packaged backbone's cut)."""
        self.xml = Path(xml)
        self.map_layer = map_layer if map_layer is not None else OmzReid0287Backbone.map_layer()
        self.record = {
            "teacher": self.xml.stem,
            "teacher_sha256": {p.name: sha256_file(p) for p in (self.xml, self.xml.with_suffix(".bin"))},
            "teacher_licence": LICENCE,
        }
        try:
            import openvino as ov
        except ImportError:
            ov = None
        if ov is not None:
            core = ov.Core()
            model = core.read_model(str(self.xml))
            node = next(op for op in model.get_ops() if op.get_friendly_name() == self._layer_name())
            model.add_outputs([node.output(0)])
            self._compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            self._torch = None
        else:
            program, constants = read_ir(self.xml)
            cut, cut_constants = read_ir(self.xml, output_layer=map_layer)
            self._torch = (GraphNet(program, constants).eval(), GraphNet(cut, cut_constants).eval())
            self._compiled = None

    def _layer_name(self) -> str:
        import xml.etree.ElementTree as ET

        for layer in ET.parse(self.xml).getroot().iter("layer"):
            if int(layer.get("id", -1)) == self.map_layer:
                return str(layer.get("name"))
        raise ValueError(f"{self.xml}: no layer {self.map_layer}")

    def __call__(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 crops (resized to the IR's 256×128) → (maps N×C×h×w float16, unit embeddings N×D float32)."""
        sized = [cv2.resize(c, INPUT_SIZE, interpolation=cv2.INTER_LINEAR) for c in crops]
        bgr = np.stack([c[:, :, ::-1].transpose(2, 0, 1) for c in sized]).astype(np.float32)
        if self._compiled is not None:
            maps, embeddings = [], []
            for image in bgr:  # the IR's reshapes are fixed to batch 1
                out = self._compiled(image[None])
                embeddings.append(out[0][0])
                maps.append(out[1][0])
            emb, fmap = np.stack(embeddings), np.stack(maps)
        else:
            full, cut = self._torch
            with torch.inference_mode():
                x = torch.from_numpy(bgr)
                emb, fmap = full(x).numpy(), cut(x).numpy()
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return fmap.astype(np.float16), emb.astype(np.float32)

    def tracklet_vectors(self, tracklets: list[list[np.ndarray]]) -> torch.Tensor:
        """Per tracklet (a list of RGB crops), the mean of the teacher's embeddings, unit length: what
        ``reid adapt --teacher`` anchors each tracklet to."""
        vectors = np.stack([self(crops)[1].mean(axis=0) for crops in tracklets])
        return torch.nn.functional.normalize(torch.from_numpy(vectors), dim=1)
