#!/usr/bin/python3
"""Writes an int8 variant of a model folder: the transformer's weight matrices stored as int8
and multiplied with dynamically quantized activations (ONNX DynamicQuantizeLinear +
MatMulInteger, which ONNX Runtime fuses into one int8 kernel); the decoder, the manifest's
sampler defaults and reference.json are kept. A variant is a folder of its own, never used
unless asked for with --model; the folder's reference.json is the float32 PyTorch output, so
the check that ends this script prints what quantization changed.

    /usr/bin/python3 scripts/quantize.py --model models/glyphs --out glyphs-int8 [--no-check]

Weights: symmetric, one scale per output column, 7-bit range [-64, 63], so that the u8 x s8
products of CPUs without VNNI (pairs summed in int16) cannot saturate; activations: uint8
with a scale and zero point per call, computed at run time. Only MatMuls with a constant 2-D
weight are quantized (attention's activation x activation products stay float32).
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from model_folder import verify_folder
from positions import load_onnx

LEVELS = 63  # 7-bit weights: max |w_q| = 64 (see the module doc)


def quantize_weights(weights):
    """float32 [K, N] -> (int8 [K, N], float32 scales [N]), one symmetric scale per column."""
    scale = np.abs(weights).max(axis=0) / LEVELS
    scale[scale == 0] = 1.0
    q = np.clip(np.round(weights / scale), -LEVELS - 1, LEVELS).astype(np.int8)
    return q, scale.astype(np.float32)


def quantize_graph(model):
    """Rewrites every MatMul with a constant float 2-D weight in place. Returns how many."""
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    activations = {}  # one DynamicQuantizeLinear per activation, shared by its MatMuls
    nodes, added, count = [], [], 0
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or weight.data_type != TensorProto.FLOAT:
            nodes.append(node)
            continue
        count += 1
        a, w, out = node.input[0], node.input[1], node.output[0]
        if a not in activations:
            q = f"{a}/int8"
            nodes.append(helper.make_node("DynamicQuantizeLinear", [a], [q, f"{q}/scale", f"{q}/zero"]))
            activations[a] = q
        q = activations[a]
        w_q, w_scale = quantize_weights(numpy_helper.to_array(weight))
        prefix = f"{node.name or out}/int8"
        added += [numpy_helper.from_array(w_q, f"{prefix}/weight"),
                  numpy_helper.from_array(np.zeros((), np.int8), f"{prefix}/weight_zero"),
                  numpy_helper.from_array(w_scale, f"{prefix}/weight_scale")]
        nodes += [
            helper.make_node("MatMulInteger", [q, f"{prefix}/weight", f"{q}/zero", f"{prefix}/weight_zero"],
                             [f"{prefix}/int32"]),
            helper.make_node("Cast", [f"{prefix}/int32"], [f"{prefix}/float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{q}/scale", f"{prefix}/weight_scale"], [f"{prefix}/scale"]),
            helper.make_node("Mul", [f"{prefix}/float", f"{prefix}/scale"], [out]),
        ]
        uses[w] -= 1
    kept = [i for i in graph.initializer if uses.get(i.name, 0) > 0]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    return count


def write_int8(model_dir, out, check=True):
    """Writes the int8 variant of the folder `model_dir` to `out`; with `check`, prints what
    quantization changed against the folder's float32 reference (fails above 10 %)."""
    try:
        with open(os.path.join(model_dir, "model.json")) as f:
            manifest = json.load(f)
        source = os.path.join(model_dir, manifest["files"]["transformer"])
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"error: {model_dir}: {error}")
    try:
        model = load_onnx(source)
    except ValueError as error:
        sys.exit(f"error: {error}")
    if os.path.exists(out):
        sys.exit(f"error: {out}: already exists")
    count = quantize_graph(model)
    if count == 0:
        sys.exit(f"error: {source}: no MatMul with a constant weight to quantize")
    onnx.checker.check_model(model)
    shutil.copytree(model_dir, out)
    onnx.save(model, os.path.join(out, manifest["files"]["transformer"]))
    manifest["name"] = f"{manifest['name']}-int8"
    manifest["description"] = (manifest.get("description", "") + " Int8 variant (scripts/quantize.py): "
                               "transformer weights int8 per column, activations quantized per call.").strip()
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{out}: {count} weight matrices quantized to int8")
    if check:
        verify_folder(out, max_error=0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", required=True, help="the float32 model folder")
    parser.add_argument("--out", required=True, help="the folder to write (must not exist)")
    parser.add_argument("--no-check", action="store_true", help="skip the error report")
    args = parser.parse_args()
    write_int8(args.model, args.out, check=not args.no_check)


if __name__ == "__main__":
    main()
