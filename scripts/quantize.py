#!/usr/bin/python3
"""Writes an int8 variant of a model folder: the transformer's weight matrices stored as int8
and multiplied with activations quantized to uint8 at scales fixed at export (ONNX QuantizeLinear
+ ONNX Runtime's MatMulIntegerToFloat), and the VQ decoder's convolutions in int8 where the
decoded images stay within 40 dB PSNR of float32 (else the float32 decoder is kept); the
manifest's sampler defaults and reference.json are kept. A variant is a folder of its own, never
used unless asked for with --model; the folder's reference.json is the float32 PyTorch output, so
the check that ends this script prints what quantization changed.

    /usr/bin/python3 scripts/quantize.py --model models/glyphs --out glyphs-int8 [--images N] [--no-check]

Weights: symmetric, one scale per output column, 7-bit range [-64, 63], so that the u8 x s8
products of CPUs without VNNI (pairs summed in int16) cannot saturate. Activations: one uint8
scale and zero point per activation tensor, from the range it took while the float32 model
generated N images through the real sampler (scripts/calibrate.ts). Fixed scales make every row's
numbers its own: an image is the same alone or in any batch (scales computed per call from the
whole batch, as DynamicQuantizeLinear does, made it depend on its neighbours). Only MatMuls with a
constant 2-D weight are quantized (attention's activation x activation products stay float32).

Decoder: every convolution with a constant weight becomes QuantizeLinear -> DequantizeLinear ->
Conv -> QuantizeLinear -> DequantizeLinear (weights int8 per output channel, same 7-bit range;
input and output uint8 at calibrated fixed scales), which ONNX Runtime fuses into its int8
QLinearConv; group norms, activations and upsampling stay float32. The gate: token grids the
float32 model generates (seeds the calibration did not use) decoded by both decoders, PSNR of
the 8-bit images (scripts/decoder_psnr.ts), the worst image >= 40 dB.
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
MIN_PSNR = 40.0  # dB, the worst decoded image's, for the int8 decoder to be kept


def quantize_weights(weights, axis=1):
    """float32 weights -> (int8 of the same shape, float32 scales), one symmetric scale per
    index of `axis`: the columns of a [K, N] MatMul weight (axis 1), the output channels of a
    [C, ...] convolution kernel (axis 0)."""
    others = tuple(i for i in range(weights.ndim) if i != axis)
    scale = np.abs(weights).max(axis=others) / LEVELS
    scale[scale == 0] = 1.0
    shape = [1] * weights.ndim
    shape[axis] = -1
    q = np.clip(np.round(weights / scale.reshape(shape)), -LEVELS - 1, LEVELS).astype(np.int8)
    return q, scale.astype(np.float32)


def quantizable(model):
    """The MatMuls with a constant float 2-D weight, and the activations they multiply (each once)."""
    weights = {i.name: i for i in model.graph.initializer}
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul" and node.input[1] in weights
               and len(weights[node.input[1]].dims) == 2
               and weights[node.input[1]].data_type == TensorProto.FLOAT]
    return matmuls, list(dict.fromkeys(node.input[0] for node in matmuls))


def quantizable_convs(model):
    """The Convs with a constant float weight, and the activations to calibrate: each one's
    input and output (each once)."""
    weights = {i.name: i for i in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv" and node.input[1] in weights
             and weights[node.input[1]].data_type == TensorProto.FLOAT]
    return convs, list(dict.fromkeys(name for node in convs for name in (node.input[0], node.output[0])))


def instrument(model, activations, tag=""):
    """Adds every activation's smallest and largest value as an output `TAG + NAME/calibrate`
    (float32 [2]), for scripts/calibrate.ts. The tag keeps two graphs' activations of the same
    name apart; reducing in the graph keeps a decoder's 256-pixel feature maps out of memory."""
    shape = "calibrate/shape"
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), shape))
    for name in activations:
        out = f"{tag}{name}/calibrate"
        for reduce in ("ReduceMin", "ReduceMax"):
            model.graph.node.extend([helper.make_node(reduce, [name], [f"{out}/{reduce}"], keepdims=1),
                                     helper.make_node("Reshape", [f"{out}/{reduce}", shape], [f"{out}/{reduce}/1"])])
        model.graph.node.append(helper.make_node("Concat", [f"{out}/ReduceMin/1", f"{out}/ReduceMax/1"], [out], axis=0))
        model.graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [2]))


def activation_scale(low, high):
    """uint8 scale and zero point covering [low, high] (widened to hold 0 exactly)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255 if high > low else 1.0
    return np.float32(scale), np.uint8(np.clip(np.round(-low / scale), 0, 255))


def rebuild(graph, nodes, added):
    """Gives `graph` the node list `nodes` and the initializers it still uses plus `added`."""
    used = {name for node in nodes for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)


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
    rebuild(graph, nodes, added)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(matmuls)


def quantize_convs(model, ranges):
    """Rewrites every quantizable Conv in place as QDQ around a float Conv (which ONNX Runtime
    runs as QLinearConv), with the activation ranges {name: [min, max]}. Returns how many."""
    graph = model.graph
    convs, activations = quantizable_convs(model)
    missing = [a for a in activations if a not in ranges]
    if missing:
        raise ValueError(f"no calibration range for {', '.join(missing[:3])}")
    weights = {i.name: i for i in graph.initializer}
    replaced = {id(node) for node in convs}
    added = []
    nodes = []

    def qdq(name, prefix, out, calibrated):
        """QuantizeLinear -> DequantizeLinear of `name` at the scale of the activation
        `calibrated`, into `out`."""
        scale, zero = activation_scale(*ranges[calibrated])
        added.extend([numpy_helper.from_array(np.array(scale), f"{prefix}/scale"),
                      numpy_helper.from_array(np.array(zero), f"{prefix}/zero")])
        nodes.extend([helper.make_node("QuantizeLinear", [name, f"{prefix}/scale", f"{prefix}/zero"], [f"{prefix}/q"]),
                      helper.make_node("DequantizeLinear", [f"{prefix}/q", f"{prefix}/scale", f"{prefix}/zero"],
                                       [out])])

    for node in graph.node:
        if id(node) not in replaced:
            nodes.append(node)
            continue
        x, w, out = node.input[0], node.input[1], node.output[0]
        prefix = f"{node.name or out}/int8"
        w_q, w_scale = quantize_weights(numpy_helper.to_array(weights[w]), axis=0)
        added.extend([numpy_helper.from_array(w_q, f"{prefix}/weight"),
                      numpy_helper.from_array(w_scale, f"{prefix}/weight_scale"),
                      numpy_helper.from_array(np.zeros(len(w_scale), np.int8), f"{prefix}/weight_zero")])
        qdq(x, f"{prefix}/x", f"{prefix}/x/dq", x)
        nodes.append(helper.make_node("DequantizeLinear",
                                      [f"{prefix}/weight", f"{prefix}/weight_scale", f"{prefix}/weight_zero"],
                                      [f"{prefix}/weight/dq"], axis=0))
        conv = helper.make_node("Conv", [f"{prefix}/x/dq", f"{prefix}/weight/dq", *node.input[2:]],
                                [f"{prefix}/y"], name=node.name)
        conv.attribute.extend(node.attribute)
        nodes.append(conv)
        qdq(f"{prefix}/y", f"{prefix}/y", out, out)  # the new Conv's output, at the original's range
    rebuild(graph, nodes, added)
    return len(convs)


DECODER_TAG = "decoder:"


def calibrate(model_dir, manifest, images):
    """Activation ranges over `images` images generated by the float32 model through
    scripts/calibrate.ts, from a copy of the folder whose transformer and decoder output them
    (graphs are rewritten without loading their weights: a `.data` file beside one is copied as
    is). Returns ({name: [min, max]} of the transformer, the same of the decoder)."""
    command = deno_command()
    if command is None:
        sys.exit("error: calibration runs the model through Deno: neither deno nor npx found")
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "model")
        shutil.copytree(model_dir, folder)
        for key, activations, tag in (("transformer", lambda m: quantizable(m)[1], ""),
                                      ("decoder", lambda m: quantizable_convs(m)[1], DECODER_TAG)):
            path = os.path.join(folder, manifest["files"][key])
            instrumented = load_onnx(path, external_data=False)
            instrument(instrumented, activations(instrumented), tag)
            onnx.save(instrumented, path)
        ranges = os.path.join(work, "ranges.json")
        result = subprocess.run(command + ["run", "-A", os.path.join(here, "calibrate.ts"), folder, ranges,
                                           str(images)], cwd=os.path.dirname(here))
        if result.returncode != 0:
            sys.exit(f"error: calibration failed (scripts/calibrate.ts exited {result.returncode})")
        with open(ranges) as f:
            ranges = json.load(f)
    decoder = {name[len(DECODER_TAG):]: r for name, r in ranges.items() if name.startswith(DECODER_TAG)}
    return {name: r for name, r in ranges.items() if not name.startswith(DECODER_TAG)}, decoder


def decoder_psnr(model_dir, out):
    """The worst image's PSNR (dB) of `out`'s decoder against `model_dir`'s on token grids the
    float32 model generates (scripts/decoder_psnr.ts); None when every image is identical."""
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(deno_command() + ["run", "-A", os.path.join(here, "decoder_psnr.ts"), model_dir, out],
                            cwd=os.path.dirname(here), stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"error: the decoder check failed (scripts/decoder_psnr.ts exited {result.returncode})")
    print(result.stdout.strip().splitlines()[0])
    return json.loads(result.stdout.strip().splitlines()[-1])["worst"]


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
    ranges, decoder_ranges = calibrate(model_dir, manifest, images)
    count = quantize_graph(model, ranges)
    shutil.copytree(model_dir, out)
    path = os.path.join(out, manifest["files"]["transformer"])
    if os.path.exists(path + ".data"):
        os.remove(path + ".data")  # the float32 weights; int8 ones are saved below
    # Graphs over protobuf's 2 GB keep their weights in PATH.data, as the converters write them.
    large = sum(len(t.raw_data) for t in model.graph.initializer) > EXTERNAL_ABOVE
    onnx.save(model, path, save_as_external_data=large, location=os.path.basename(path) + ".data")
    print(f"{out}: {count} weight matrices quantized to int8")
    decoder = "float32 decoder"
    path = os.path.join(out, manifest["files"]["decoder"])
    graph = load_onnx(path)
    convs = quantize_convs(graph, decoder_ranges)
    if convs:
        onnx.save(graph, path)
        worst = decoder_psnr(model_dir, out)
        if worst is None or worst >= MIN_PSNR:
            decoder = f"decoder convolutions int8 (worst image {'identical' if worst is None else f'{worst:.1f} dB'})"
        else:
            shutil.copyfile(os.path.join(model_dir, manifest["files"]["decoder"]), path)
            decoder = f"float32 decoder (int8 decoding gave {worst:.1f} dB < {MIN_PSNR:.0f})"
        print(f"{out}: {convs} decoder convolutions: {decoder}")
    manifest["name"] = f"{manifest['name']}-int8"
    manifest["precision"] = "int8"
    manifest["description"] = (manifest.get("description", "") + " Int8 variant (scripts/quantize.py): "
                               f"transformer weights int8 per column, activations at fixed scales from {images} "
                               f"images; {decoder}.").strip()
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
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
