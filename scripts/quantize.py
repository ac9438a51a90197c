#!/usr/bin/python3
"""Writes an int8 variant of a model folder: the transformer's weight matrices stored as int8
and multiplied with activations quantized to uint8 at scales fixed at export (ONNX QuantizeLinear
+ ONNX Runtime's MatMulIntegerToFloat); the decoder, the manifest's sampler defaults and
reference.json are kept. A variant is a folder of its own, never used unless asked for with
--model; the folder's reference.json is the float32 PyTorch output, so the check that ends this
script prints what quantization changed.

    /usr/bin/python3 scripts/quantize.py --model models/glyphs --out glyphs-int8 [--images N] [--no-check]

Weights: symmetric, one scale per output column, 7-bit range [-64, 63], so that the u8 x s8
products of CPUs without VNNI (pairs summed in int16) cannot saturate. Activations: one uint8
scale and zero point per activation tensor, from the range it took while the float32 model
generated N images through the real sampler (scripts/calibrate.ts). Fixed scales make every row's
numbers its own: an image is the same alone or in any batch (scales computed per call from the
whole batch, as DynamicQuantizeLinear does, made it depend on its neighbours). Only MatMuls with a
constant 2-D weight are quantized (attention's activation x activation products stay float32).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from model_folder import EXTERNAL_ABOVE, deno_command, verify_folder
from positions import load_onnx

LEVELS = 63  # 7-bit weights: max |w_q| = 64 (see the module doc)


def quantize_weights(weights):
    """float32 [K, N] -> (int8 [K, N], float32 scales [N]), one symmetric scale per column."""
    scale = np.abs(weights).max(axis=0) / LEVELS
    scale[scale == 0] = 1.0
    q = np.clip(np.round(weights / scale), -LEVELS - 1, LEVELS).astype(np.int8)
    return q, scale.astype(np.float32)


def quantizable(model):
    """The MatMuls with a constant float 2-D weight, and the activations they multiply (each once)."""
    weights = {i.name: i for i in model.graph.initializer}
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul" and node.input[1] in weights
               and len(weights[node.input[1]].dims) == 2
               and weights[node.input[1]].data_type == TensorProto.FLOAT]
    return matmuls, list(dict.fromkeys(node.input[0] for node in matmuls))


def instrument(model, activations):
    """Adds every activation as an output `NAME/calibrate`, for scripts/calibrate.ts."""
    for name in activations:
        model.graph.node.append(helper.make_node("Identity", [name], [f"{name}/calibrate"]))
        model.graph.output.append(helper.make_tensor_value_info(f"{name}/calibrate", TensorProto.FLOAT, None))


def activation_scale(low, high):
    """uint8 scale and zero point covering [low, high] (widened to hold 0 exactly)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255 if high > low else 1.0
    return np.float32(scale), np.uint8(np.clip(np.round(-low / scale), 0, 255))


def quantize_graph(model, ranges):
    """Rewrites every quantizable MatMul in place, with the activation ranges {name: [min, max]}.
    Returns how many."""
    graph = model.graph
    matmuls, activations = quantizable(model)
    weights = {i.name: i for i in graph.initializer}
    missing = [a for a in activations if a not in ranges]
    if missing:
        raise ValueError(f"no calibration range for {', '.join(missing[:3])}")
    replaced = {id(node) for node in matmuls}
    quantize = {}  # activation -> its QuantizeLinear node, placed before its first MatMul
    added = []
    for a in activations:
        scale, zero = activation_scale(*ranges[a])
        q = f"{a}/int8"
        added += [numpy_helper.from_array(np.array(scale), f"{q}/scale"),
                  numpy_helper.from_array(np.array(zero), f"{q}/zero")]
        quantize[a] = helper.make_node("QuantizeLinear", [a, f"{q}/scale", f"{q}/zero"], [q])
    nodes = []
    for node in graph.node:
        if id(node) not in replaced:
            nodes.append(node)
            continue
        a, w, out = node.input[0], node.input[1], node.output[0]
        if a in quantize:
            nodes.append(quantize.pop(a))
        w_q, w_scale = quantize_weights(numpy_helper.to_array(weights[w]))
        prefix = f"{node.name or out}/int8"
        added += [numpy_helper.from_array(w_q, f"{prefix}/weight"),
                  numpy_helper.from_array(w_scale, f"{prefix}/weight_scale")]
        q = f"{a}/int8"
        nodes.append(helper.make_node(
            "MatMulIntegerToFloat", [q, f"{prefix}/weight", f"{q}/scale", f"{prefix}/weight_scale", f"{q}/zero"],
            [out], domain="com.microsoft"))
    used = {name for node in nodes for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(matmuls)


def calibrate(model_dir, manifest, images):
    """Activation ranges {name: [min, max]} over `images` images generated by the float32 model
    through scripts/calibrate.ts, from a copy of the folder whose transformer outputs them (the
    graph is rewritten without loading its weights: a `.data` file beside it is copied as is)."""
    command = deno_command()
    if command is None:
        sys.exit("error: calibration runs the model through Deno: neither deno nor npx found")
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "model")
        shutil.copytree(model_dir, folder)
        path = os.path.join(folder, manifest["files"]["transformer"])
        instrumented = load_onnx(path, external_data=False)
        instrument(instrumented, quantizable(instrumented)[1])
        onnx.save(instrumented, path)
        ranges = os.path.join(work, "ranges.json")
        result = subprocess.run(command + ["run", "-A", os.path.join(here, "calibrate.ts"), folder, ranges,
                                           str(images)], cwd=os.path.dirname(here))
        if result.returncode != 0:
            sys.exit(f"error: calibration failed (scripts/calibrate.ts exited {result.returncode})")
        with open(ranges) as f:
            return json.load(f)


def write_int8(model_dir, out, check=True, images=32):
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
    if not quantizable(model)[0]:
        sys.exit(f"error: {source}: no MatMul with a constant weight to quantize")
    count = quantize_graph(model, calibrate(model_dir, manifest, images))
    shutil.copytree(model_dir, out)
    path = os.path.join(out, manifest["files"]["transformer"])
    if os.path.exists(path + ".data"):
        os.remove(path + ".data")  # the float32 weights; int8 ones are saved below
    # Graphs over protobuf's 2 GB keep their weights in PATH.data, as the converters write them.
    large = sum(len(t.raw_data) for t in model.graph.initializer) > EXTERNAL_ABOVE
    onnx.save(model, path, save_as_external_data=large, location=os.path.basename(path) + ".data")
    manifest["name"] = f"{manifest['name']}-int8"
    manifest["precision"] = "int8"
    manifest["description"] = (manifest.get("description", "") + " Int8 variant (scripts/quantize.py): "
                               f"transformer weights int8 per column, activations at fixed scales from {images} images.").strip()
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
    parser.add_argument("--images", type=int, default=32, help="images generated to calibrate on (default 32)")
    parser.add_argument("--no-check", action="store_true", help="skip the error report")
    args = parser.parse_args()
    write_int8(args.model, args.out, check=not args.no_check, images=args.images)


if __name__ == "__main__":
    main()
