"""Import an OpenVINO IR network (``.xml`` graph + ``.bin`` weights) as a ``GraphNet`` program.

Only parsing: the XML is read as data and every op must be one ``graph_net.OPS`` knows; the
weights blob is sliced by the offsets the XML gives. openvino itself is not needed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reid_core.graph_net import OPS, GraphError, Program

INT_LIST_ATTRS = ("strides", "dilations", "pads_begin", "pads_end", "kernel")
FLOAT_ATTRS = ("eps",)
DTYPES = {"f32": np.float32, "i32": np.int32, "i64": np.int64}


def _attrs(layer: ET.Element) -> dict[str, Any]:
    data = layer.find("data")
    attrs: dict[str, Any] = dict(data.attrib) if data is not None else {}
    for key in INT_LIST_ATTRS:
        if key in attrs:
            attrs[key] = [int(v) for v in attrs[key].split(",")]
    for key in FLOAT_ATTRS:
        if key in attrs:
            attrs[key] = float(attrs[key])
    if attrs.get("auto_pad", "explicit") not in ("explicit", "notset"):
        raise GraphError(f"layer {layer.get('id')}: auto_pad={attrs['auto_pad']} is not supported")
    return attrs


def read_ir(xml_path: str | Path, output_layer: int | None = None) -> tuple[Program, dict[str, torch.Tensor]]:
    """(program, float constants) for the IR at ``xml_path`` (its ``.bin`` beside it).

    ``output_layer`` cuts the graph: the program ends at that layer's first output (default:
    what the network's Result reads). Ops the output does not depend on are left out.
    """
    xml_path = Path(xml_path)
    bin_path = xml_path.with_suffix(".bin")
    if not xml_path.is_file() or not bin_path.is_file():
        raise GraphError(f"{xml_path}: an OpenVINO IR needs both {xml_path.name} and {bin_path.name}")
    root = ET.parse(xml_path).getroot()
    blob = bin_path.read_bytes()
    layers = {int(layer.get("id", -1)): layer for layer in root.iter("layer")}
    out_index: dict[tuple[int, int], int] = {}  # (layer, port id) → output position
    for layer_id, layer in layers.items():
        output = layer.find("output")
        for position, port in enumerate(output.findall("port") if output is not None else []):
            out_index[(layer_id, int(port.get("id", -1)))] = position
    sources: dict[tuple[int, int], tuple[int, int]] = {}
    for edge in root.iter("edge"):
        source = (int(edge.get("from-layer", -1)), int(edge.get("from-port", -1)))
        sources[(int(edge.get("to-layer", -1)), int(edge.get("to-port", -1)))] = (
            source[0],
            out_index[source],
        )

    def inputs_of(layer_id: int) -> list[list[int]]:
        ports = layers[layer_id].find("input")
        return [list(sources[(layer_id, int(p.get("id", -1)))]) for p in (ports if ports is not None else [])]

    inputs = [i for i, layer in layers.items() if layer.get("type") == "Parameter"]
    results = [i for i, layer in layers.items() if layer.get("type") == "Result"]
    if len(inputs) != 1 or len(results) != 1:
        raise GraphError(f"{xml_path}: expected one input and one output, found {len(inputs)} and {len(results)}")
    if output_layer is None:
        output_layer = inputs_of(results[0])[0][0]
    needed, stack = set(), [output_layer]
    while stack:
        layer_id = stack.pop()
        if layer_id in needed:
            continue
        needed.add(layer_id)
        stack.extend(source for source, _ in inputs_of(layer_id))

    ops, ints, floats, constants = [], {}, {}, {}
    for layer_id in sorted(needed):
        layer = layers[layer_id]
        kind = layer.get("type", "")
        if kind == "Parameter":
            continue
        attrs = _attrs(layer)
        if kind == "Const":
            dtype = DTYPES.get(attrs["element_type"])
            if dtype is None:
                raise GraphError(f"layer {layer_id}: constant type {attrs['element_type']} is not supported")
            offset, size = int(attrs["offset"]), int(attrs["size"])
            shape = [int(v) for v in attrs["shape"].split(",") if v.strip()]
            array = np.frombuffer(blob[offset : offset + size], dtype=dtype).reshape(shape)
            if dtype is np.float32:
                constants[str(layer_id)] = torch.from_numpy(array.copy())
                floats[str(layer_id)] = shape
            else:
                ints[str(layer_id)] = [int(v) for v in array.reshape(-1)]
            ops.append({"id": layer_id, "type": "Const", "attrs": {}, "inputs": []})
            continue
        if kind not in OPS:
            raise GraphError(f"{xml_path}: layer {layer_id} has unsupported type {kind!r}")
        ops.append({"id": layer_id, "type": kind, "attrs": attrs, "inputs": inputs_of(layer_id)})
    ops = _fold_conv_bias(ops, floats, constants)
    program: Program = {
        "source": xml_path.name,
        "input": inputs[0],
        "output": [output_layer, 0],
        "ops": ops,
        "ints": ints,
        "floats": floats,
    }
    return program, constants


def _fold_conv_bias(ops: list[dict[str, Any]], floats: dict[str, list[int]], constants: dict[str, torch.Tensor]):
    """Fold ``Convolution → Add(constant 1×C×1×1)`` into one convolution with a bias (a third input).

    The IR keeps the bias as a separate Add over the whole feature map; folding it saves a
    full pass over every map on the CPU and gives the same numbers.
    """
    readers: dict[int, int] = {}
    for op in ops:
        for source, _ in op["inputs"]:
            readers[source] = readers.get(source, 0) + 1
    by_id = {op["id"]: op for op in ops}
    dropped: set[int] = set()
    for op in ops:
        if op["type"] != "Add" or len(op["inputs"]) != 2:
            continue
        (conv_id, _), (bias_id, _) = op["inputs"]
        conv = by_id.get(conv_id)
        bias_shape = floats.get(str(bias_id))
        if (
            conv is None
            or conv["type"] not in ("Convolution", "GroupConvolution")
            or len(conv["inputs"]) != 2
            or readers.get(conv_id) != 1
            or bias_shape is None
            or len(bias_shape) != 4
            or bias_shape[0] * bias_shape[2] * bias_shape[3] != 1
        ):
            continue
        conv["inputs"].append([bias_id, 0])
        constants[str(bias_id)] = constants[str(bias_id)].reshape(-1)
        floats[str(bias_id)] = [bias_shape[1]]
        op["type"], op["inputs"], op["attrs"] = "Identity", [[conv_id, 0]], {}
        dropped.add(op["id"])
    return ops
