"""The OMZ-imported backbone: the packaged program is the IR's, it runs like OpenVINO, and it is data only."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import torch

from reid_core.backbones import create_backbone
from reid_core.embedder import preprocess
from reid_core.graph_net import GraphError, GraphNet, check_program
from reid_core.openvino_ir import read_ir
from tests.conftest import shared_file

TEACHER = "teachers/intel_omz/person-reidentification-retail-0287.xml"


@pytest.fixture(scope="module")
def ir_path():
    shared_file(TEACHER.replace(".xml", ".bin"))
    return shared_file(TEACHER)


def packaged_program() -> dict:
    return json.loads(resources.files("reid_core.graphs").joinpath("omz_reid_0287.json").read_text())


def test_the_packaged_program_is_the_ir_cut_before_its_head(ir_path) -> None:
    packaged = packaged_program()
    program, constants = read_ir(ir_path, output_layer=int(packaged["output"][0]))
    assert program["ops"] == packaged["ops"] and program["ints"] == packaged["ints"]
    assert program["floats"] == packaged["floats"] and set(constants) == set(packaged["floats"])
    net = GraphNet(program, constants).eval()
    with torch.no_grad():
        maps = net(torch.rand(1, 3, 256, 128) * 255)
    assert maps.shape == (1, 256, 16, 8) and bool((maps >= 0).all())  # the ReLU'd map before the head


def test_the_whole_teacher_in_torch_equals_openvino(ir_path) -> None:
    ov = pytest.importorskip("openvino", reason="openvino is a training/dev extra")
    compiled = ov.Core().compile_model(str(ir_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    net = GraphNet(*read_ir(ir_path)).eval()
    images = np.random.default_rng(0).uniform(0, 255, (3, 3, 256, 128)).astype(np.float32)
    reference = np.concatenate([compiled(images[i : i + 1])[0] for i in range(3)])
    with torch.no_grad():
        batched = net(torch.from_numpy(images)).numpy()  # batch 3 through a graph imported at batch 1
    assert batched.shape == (3, 256)
    assert np.abs(batched - reference).max() < 1e-4 * np.abs(reference).max()


def test_the_backbone_takes_rgb_crops_and_gives_the_pooled_map(ir_path) -> None:
    backbone = create_backbone("omz_reid_0287", ir_path).eval()
    rgb = np.random.default_rng(1).integers(0, 255, (256, 128, 3), dtype=np.uint8)
    net = GraphNet(*read_ir(ir_path, output_layer=int(packaged_program()["output"][0]))).eval()
    with torch.no_grad():
        maps = backbone.features(preprocess([rgb], backbone.spec))
        bgr = torch.from_numpy(rgb[:, :, ::-1].transpose(2, 0, 1).astype(np.float32).copy())[None]
        expected = torch.nn.functional.avg_pool2d(net(bgr), 2)
    assert maps.shape == (1, 256, *backbone.spec.map_size)
    assert torch.allclose(maps, expected, atol=1e-4)


def test_a_program_with_an_unknown_op_or_a_forward_reference_is_refused() -> None:
    base = {"input": 0, "output": [1, 0], "ints": {}, "floats": {}}
    with pytest.raises(GraphError, match="unsupported type 'PythonOp'"):
        check_program(base | {"ops": [{"id": 1, "type": "PythonOp", "attrs": {}, "inputs": [[0, 0]]}]})
    with pytest.raises(GraphError, match="not computed before"):
        check_program(base | {"ops": [{"id": 1, "type": "ReLU", "attrs": {}, "inputs": [[2, 0]]}]})
    good = base | {"ops": [{"id": 1, "type": "ReLU", "attrs": {}, "inputs": [[0, 0]]}]}
    assert torch.equal(GraphNet(good)(torch.tensor([-1.0, 2.0])), torch.tensor([0.0, 2.0]))
