#!/usr/bin/python3
"""Gives an exported transformer the optional `positions` input (int64 [B, P]), so that the
output head -- the largest matrix product of a small model: N x dim x V per row -- runs only at
the P positions a sampling step will draw at. `logits` becomes [B, P, V], row b holding the
logits at positions[b]. The runtime feeds it when the input exists; folders without it keep
working (the runtime then reads the full [B, N, V] logits).

The change is made on the ONNX graph, so it serves every exporter (the stand-in builder, the
glyph export, the converter) and upgrades folders written before it:

    /usr/bin/python3 scripts/positions.py DIR [DIR ...]

The hidden states are gathered right before the head's MatMul. That is only valid when every
node between that MatMul and `logits` works position by position (per-channel bias, scaling,
casts; an [N, V] per-position bias is gathered at the same positions); a graph whose head mixes positions (e.g. the glyph model, which predicts a 2x2 patch of
tokens per transformer position and reshapes) is left unchanged, and the function says why.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT = "positions"
# Ops that act on each position separately when their other operands are per-channel constants.
POSITIONWISE = {"Add", "Sub", "Mul", "Div", "Cast", "Relu", "Tanh", "Sigmoid", "Identity"}


def load_onnx(path, external_data=True):
    """onnx.load with one-line errors: ValueError naming the file and what is wrong. Without
    `external_data`, weights kept in a file beside the graph stay there (the graph is read)."""
    try:
        return onnx.load(path, load_external_data=external_data)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror or error}") from None
    except Exception as error:  # protobuf's DecodeError and the like: not a model
        raise ValueError(f"{path}: not an ONNX model ({type(error).__name__})") from None


def _constants(graph):
    """Names of initializers and Constant outputs, with their shapes."""
    shapes = {i.name: list(i.dims) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            value = next(a for a in node.attribute if a.name == "value")
            shapes[node.output[0]] = list(value.t.dims)
    return shapes


def _head(graph):
    """The head MatMul, the tensors between it and `logits`, and the per-position constants
    on that path ([N, V] biases, as (node, input index)); or (None, reason, None)."""
    constants = _constants(graph)
    tokens = next(i for i in graph.input if i.name == "tokens")
    cells = tokens.type.tensor_type.shape.dim[1].dim_value
    producers = {out: node for node in graph.node for out in node.output}
    name, chain, per_position = "logits", [], []
    while True:
        node = producers.get(name)
        if node is None:
            return None, f"'{name}' has no producing node", None
        if node.op_type == "MatMul" and node.input[1] in constants and len(constants[node.input[1]]) == 2:
            return node, chain, per_position
        data = [x for x in node.input if x not in constants]
        allowed = node.op_type in POSITIONWISE and len(data) == 1
        for index, x in enumerate(node.input):
            shape = constants.get(x)
            if shape is None or len(shape) <= 1:
                continue  # the data, or a per-channel constant
            if len(shape) == 2 and shape[0] == cells:
                per_position.append((node, index))
            else:
                allowed = False
        if not allowed:
            return None, f"the head is followed by {node.op_type} ({node.name}), which is not position-wise", None
        chain.append(name)
        name = data[0]


def _flops(graph, head):
    """Multiply-adds x 2 of the head per position: what each position not asked for saves."""
    k, v = next(list(i.dims) for i in graph.initializer if i.name == head.input[1])
    return 2 * k * v


def add_positions(path):
    """Adds the `positions` input to the transformer at `path` in place. Returns (the head's
    FLOPs per position, None) on success or if it is already there, else (None, the reason the
    graph was left unchanged). Raises ValueError if the file is missing or not a model."""
    # The weights stay where they are: a graph over 2 GB keeps them in a file beside it, and
    # protobuf could neither check nor save it whole.
    model = load_onnx(path, external_data=False)
    graph = model.graph
    if any(i.name == INPUT for i in graph.input):
        head = next(n for n in graph.node if n.op_type == "MatMul" and n.input[0] == "/positions/hidden")
        return _flops(graph, head), None
    head, chain, per_position = _head(graph)
    if head is None:
        return None, chain
    hidden = head.input[0]
    out = lambda suffix: f"/positions/{suffix}"  # noqa: E731
    nodes = [
        helper.make_node("Constant", [], [out("axis")],
                         value=numpy_helper.from_array(np.array([2], dtype=np.int64))),
        helper.make_node("Unsqueeze", [INPUT, out("axis")], [out("index")]),
        helper.make_node("Shape", [INPUT], [out("rows_and_count")]),
        helper.make_node("Shape", [hidden], [out("width")], start=2, end=3),
        helper.make_node("Concat", [out("rows_and_count"), out("width")], [out("shape")], axis=0),
        helper.make_node("Expand", [out("index"), out("shape")], [out("expanded")]),
        helper.make_node("GatherElements", [hidden, out("expanded")], [out("hidden")], axis=1),
    ]
    head.input[0] = out("hidden")
    # A per-position constant (e.g. an [N, V] bias) is read at the same positions: [B, P, V].
    for k, (node, index) in enumerate(per_position):
        nodes.append(helper.make_node("Gather", [node.input[index], INPUT], [out(f"constant_{k}")], axis=0))
        node.input[index] = out(f"constant_{k}")
    at = list(graph.node).index(head)
    for offset, node in enumerate(nodes):
        graph.node.insert(at + offset, node)
    graph.input.append(helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["batch", "positions"]))
    # Shapes recorded by the exporter for the head's outputs still say N: drop them, and
    # make the logits' second dimension symbolic.
    stale = set(chain) | set(head.output)
    kept = [v for v in graph.value_info if v.name not in stale]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    logits = next(o for o in graph.output if o.name == "logits")
    dim = logits.type.tensor_type.shape.dim[1]
    dim.Clear()
    dim.dim_param = "positions"
    # Checked by path, beside the original, so that external weights are found.
    changed = path + ".positions.tmp"
    onnx.save(model, changed)
    try:
        onnx.checker.check_model(changed)
    except onnx.checker.ValidationError as error:  # e.g. an opset before Shape's start/end (15)
        os.remove(changed)
        return None, f"the changed graph does not validate: {str(error).splitlines()[0]}"
    os.replace(changed, path)
    return _flops(graph, head), None


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        sys.exit(2)
    failed = False
    for folder in sys.argv[1:]:
        manifest = os.path.join(folder, "model.json")
        try:
            with open(manifest) as f:
                description = json.load(f)
            path = os.path.join(folder, description["files"]["transformer"])
        except (OSError, ValueError, KeyError) as error:
            print(f"error: {manifest}: {error}", file=sys.stderr)
            failed = True
            continue
        try:
            head, reason = add_positions(path)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
            continue
        print(f"{path}: {'has the positions input' if reason is None else 'unchanged: ' + reason}")
        if head is not None and "flops" in description:
            description["flops"]["head"] = head
            with open(manifest, "w") as f:
                json.dump(description, f, indent=2)
                f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
