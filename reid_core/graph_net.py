"""A small, closed interpreter for feed-forward graphs imported from OpenVINO IR files.

The Apache-2.0 Intel OMZ re-ID models ship as OpenVINO IR (an XML graph + a weights blob).
``reid_core.openvino_ir`` turns such a file into a *program*: plain data (a list of ops with
integer/string attributes, JSON-serialisable) plus float tensors. ``GraphNet`` runs a program
with torch operations only, so the network trains, exports and loads with
``torch.load(weights_only=True)`` like any other module, and no code is ever taken from a file:
an op outside ``OPS`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

Program = dict[str, Any]  # {"ops": [op, ...], "input": id, "output": [id, port]}
Op = dict[str, Any]  # {"id": int, "type": str, "attrs": {...}, "inputs": [[id, port], ...]}
Value = torch.Tensor | list[int]  # tensors flow between ops; shapes/axes flow as int lists


class GraphError(ValueError):
    """A program that cannot be run (unknown op, bad reference)."""


def _ints(value: Value) -> list[int]:
    """Integer values; sizes read from a tensor's shape stay symbolic so ONNX export keeps them dynamic."""
    if isinstance(value, torch.Tensor):
        return [int(v) for v in value.reshape(-1).tolist()]
    return list(value)


def _pads(attrs: dict[str, Any]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) for F.pad from IR pads_begin/pads_end (H, W)."""
    top, left = attrs["pads_begin"]
    bottom, right = attrs["pads_end"]
    return left, right, top, bottom


def _conv(args: Sequence[Value], attrs: dict[str, Any], groups: int = 1) -> torch.Tensor:
    x, weight = args[0], args[1]
    bias = args[2] if len(args) > 2 else None  # folded by the importer from a following Add
    assert isinstance(x, torch.Tensor) and isinstance(weight, torch.Tensor)
    if groups != 1:  # IR GroupConvolution weights: G × Cout/G × Cin/G × kh × kw
        groups = weight.shape[0]
        weight = weight.flatten(0, 1)
    left, right, top, bottom = _pads(attrs)
    if left == right and top == bottom:
        return F.conv2d(x, weight, bias, attrs["strides"], (top, left), attrs["dilations"], groups)
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, weight, bias, attrs["strides"], 0, attrs["dilations"], groups)


def _pool(args: Sequence[Value], attrs: dict[str, Any], kind: str) -> torch.Tensor:
    x = args[0]
    assert isinstance(x, torch.Tensor)
    left, right, top, bottom = _pads(attrs)
    ceil = attrs.get("rounding_type", "floor") == "ceil"
    if kind == "max":
        if (left, top) != (right, bottom):
            x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
            left = top = 0
        return F.max_pool2d(x, attrs["kernel"], attrs["strides"], (top, left), ceil_mode=ceil)
    exclude = attrs.get("exclude-pad", "false") == "true"
    return F.avg_pool2d(
        x, attrs["kernel"], attrs["strides"], (top, left), ceil_mode=ceil, count_include_pad=not exclude
    )


def _mvn(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
    x = args[0]
    assert isinstance(x, torch.Tensor)
    axes = _ints(args[1])
    centred = x - x.mean(dim=axes, keepdim=True)
    if attrs.get("normalize_variance", "true") != "true":
        return centred
    variance = centred.pow(2).mean(dim=axes, keepdim=True)
    if attrs.get("eps_mode", "INSIDE_SQRT") == "INSIDE_SQRT":
        return centred / torch.sqrt(variance + attrs["eps"])
    return centred / (torch.sqrt(variance) + attrs["eps"])


def _reshape(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
    x = args[0]
    assert isinstance(x, torch.Tensor)
    shape = _ints(args[1])
    if attrs.get("special_zero", "false") == "true":
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    # The imported graph's batch size was fixed at 1: a leading 1 is the batch, which follows the input.
    if shape and isinstance(shape[0], int) and shape[0] == 1 and -1 not in shape:
        shape = [-1, *shape[1:]]
    return x.reshape(shape)


def _gather(args: Sequence[Value], attrs: dict[str, Any]) -> Value:
    data, indices, axis = args[0], args[1], _ints(args[2])[0]
    if isinstance(data, torch.Tensor):
        index = torch.tensor(_ints(indices), device=data.device)
        return data.index_select(axis, index)
    picked = [_ints(data)[i] for i in _ints(indices)]
    return picked


def _matmul(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
    a, b = args[0], args[1]
    assert isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
    if attrs.get("transpose_a", "false") == "true":
        a = a.transpose(-1, -2)
    if attrs.get("transpose_b", "false") == "true":
        b = b.transpose(-1, -2)
    return a @ b


def _prelu(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
    x, slope = args[0], args[1]
    assert isinstance(x, torch.Tensor) and isinstance(slope, torch.Tensor)
    if slope.numel() > 1 and x.dim() > 1:  # per-channel slope along dimension 1
        slope = slope.reshape(1, -1, *([1] * (x.dim() - 2)))
    return torch.where(x >= 0, x, x * slope)


def _shape_of(args: Sequence[Value], attrs: dict[str, Any]) -> list[int]:
    x = args[0]
    assert isinstance(x, torch.Tensor)
    return list(x.shape)


def _concat(args: Sequence[Value], attrs: dict[str, Any]) -> Value:
    if all(not isinstance(a, torch.Tensor) for a in args):
        return [v for a in args for v in _ints(a)]
    return torch.cat([a for a in args if isinstance(a, torch.Tensor)], dim=int(attrs["axis"]))


def _reduce_mean(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
    x = args[0]
    assert isinstance(x, torch.Tensor)
    return x.mean(dim=_ints(args[1]), keepdim=attrs.get("keep_dims", "false") == "true")


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    def run(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
        a, b = args[0], args[1]
        assert isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        return fn(a, b)

    return run


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    def run(args: Sequence[Value], attrs: dict[str, Any]) -> torch.Tensor:
        x = args[0]
        assert isinstance(x, torch.Tensor)
        return fn(x)

    return run


OPS: dict[str, Callable[[Sequence[Value], dict[str, Any]], Value]] = {
    "Identity": lambda args, attrs: args[0],
    "Add": _binary(torch.add),
    "Subtract": _binary(torch.sub),
    "Multiply": _binary(torch.mul),
    "ReLU": _unary(F.relu),
    "Sigmoid": _unary(torch.sigmoid),
    "PReLU": _prelu,
    "Convolution": _conv,
    "GroupConvolution": lambda args, attrs: _conv(args, attrs, groups=0),
    "MaxPool": lambda args, attrs: _pool(args, attrs, "max"),
    "AvgPool": lambda args, attrs: _pool(args, attrs, "avg"),
    "MVN": _mvn,
    "ReduceMean": _reduce_mean,
    "Reshape": _reshape,
    "ShapeOf": _shape_of,
    "Gather": _gather,
    "Concat": _concat,
    "MatMul": _matmul,
}


def check_program(program: Program) -> None:
    """Refuse programs with unknown ops or references to values not computed before."""
    known: set[int] = {int(program["input"])} | {int(op["id"]) for op in program["ops"] if op["type"] == "Const"}
    for op in program["ops"]:
        if op["type"] not in OPS and op["type"] != "Const":
            raise GraphError(f"op {op['id']} has unsupported type {op['type']!r}")
        for source, _ in op.get("inputs", []):
            if source not in known:
                raise GraphError(f"op {op['id']} reads {source}, which is not computed before it")
        known.add(int(op["id"]))
    if int(program["output"][0]) not in known:
        raise GraphError("the program's output is never computed")


class GraphNet(nn.Module):
    """Runs a checked program; float constants are parameters (``const_<id>``), the rest is data.

    ``program["ints"]`` holds integer constants (axes, shapes, indices) as lists.
    """

    def __init__(self, program: Program, constants: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        check_program(program)
        self.program = program
        self.ints: dict[int, list[int]] = {int(k): list(v) for k, v in program.get("ints", {}).items()}
        float_shapes: dict[str, list[int]] = program["floats"]
        self.consts = nn.ParameterDict()
        for key, shape in float_shapes.items():
            value = constants[key] if constants is not None else torch.zeros(shape)
            if list(value.shape) != list(shape):
                raise GraphError(f"constant {key} has shape {list(value.shape)}, the program says {shape}")
            self.consts[key] = nn.Parameter(value.float().clone())
        self._compute = [op for op in program["ops"] if op["type"] != "Const"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[tuple[int, int], Value] = {(int(self.program["input"]), 0): x}
        for op in self._compute:
            args = [self._value(values, int(source), int(port)) for source, port in op["inputs"]]
            values[(int(op["id"]), 0)] = OPS[op["type"]](args, op["attrs"])
        out = values[(int(self.program["output"][0]), 0)]
        assert isinstance(out, torch.Tensor)
        return out

    def _value(self, values: dict[tuple[int, int], Value], source: int, port: int) -> Value:
        if (source, 0) in values:
            return values[(source, 0)]
        if source in self.ints:
            return self.ints[source]
        return self.consts[str(source)]
