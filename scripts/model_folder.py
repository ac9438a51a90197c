"""Writing a model folder under the halton-maskgit contract from PyTorch modules: the two ONNX
graphs (opset 17, dynamic batch, the contract's input and output names), reference.json
(PyTorch outputs on fixed inputs, which the Deno tests compare ONNX Runtime against) and
model.json. Shared by the stand-in builder and the checkpoint converter."""

import json
import os
import shutil
import subprocess
import sys

import torch
from onnx import numpy_helper
from torch.profiler import ProfilerActivity, profile

from positions import add_positions, load_onnx

FORMAT = "halton-maskgit/model@1"


def strided(t, stride=97):
    """Every stride-th value of a tensor, flattened, and the sum of all of it."""
    flat = t.detach().reshape(-1)
    return {"stride": stride, "values": flat[::stride].tolist(), "sum": float(flat.double().sum())}


def reference_inputs(grid, codebook_size, classes):
    """Two fixed rows: a partly masked grid with a label, and one with the label dropped."""
    n = grid * grid
    tokens = torch.stack([(torch.arange(n) * 7 + 3 * b) % (codebook_size + 1) for b in range(2)])
    labels = torch.tensor([1 % classes, 9 % classes])
    return tokens, labels, torch.tensor([False, True])


def count_flops(module, *inputs):
    """Floating-point operations of one call, as PyTorch's profiler counts them (matrix
    products and convolutions; element-wise work is left out)."""
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        module(*inputs)
    return int(sum(event.flops for event in prof.key_averages()))


def flops_per_row(transformer, decoder, grid):
    """{"transformer": per forward row, "decoder": per image}: what `deno task bench` divides
    by measured time to report achieved GFLOP/s (write_folder adds "head": per position, which
    a transformer with a positions input skips where no logits are asked for)."""
    tokens = torch.zeros(1, grid * grid, dtype=torch.long)
    return {
        "transformer": count_flops(transformer, tokens, torch.zeros(1, dtype=torch.long),
                                   torch.zeros(1, dtype=torch.bool)),
        "decoder": count_flops(decoder, tokens.reshape(1, grid, grid)),
    }


def write_folder(out, transformer, decoder, manifest):
    """Exports transformer(tokens [B, N], labels [B], drop_label [B]) -> logits [B, N, V] and
    decoder(tokens [B, n, n]) -> image [B, C, H, W], gives the transformer the optional
    `positions` input where its head allows (scripts/positions.py), records reference outputs,
    writes the manifest. Returns the reference dict."""
    os.makedirs(out, exist_ok=True)
    grid, codebook = manifest["grid"], manifest["codebookSize"]
    tokens, labels, drop = reference_inputs(grid, codebook, len(manifest["classes"]))
    codes = (tokens % codebook).reshape(2, grid, grid)
    transformer.eval()
    decoder.eval()
    with torch.no_grad():
        torch.onnx.export(
            transformer, (tokens, labels, drop), os.path.join(out, manifest["files"]["transformer"]),
            input_names=["tokens", "labels", "drop_label"], output_names=["logits"],
            dynamic_axes={k: {0: "batch"} for k in ["tokens", "labels", "drop_label", "logits"]},
            opset_version=17,
        )
        torch.onnx.export(
            decoder, (codes,), os.path.join(out, manifest["files"]["decoder"]),
            input_names=["tokens"], output_names=["image"],
            dynamic_axes={"tokens": {0: "batch"}, "image": {0: "batch"}}, opset_version=17,
        )
        logits, image = transformer(tokens, labels, drop), decoder(codes)
    head, unchanged = add_positions(os.path.join(out, manifest["files"]["transformer"]))
    if unchanged:
        print(f"note: no positions input ({unchanged}); every step computes all logits")
    reference = {
        "transformer": {"tokens": tokens.tolist(), "labels": labels.tolist(), "drop_label": drop.tolist(),
                        "logits": strided(logits)},
        "decoder": {"tokens": codes.tolist(), "image": strided(image)},
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)
    flops = flops_per_row(transformer, decoder, grid)
    manifest = {**manifest, "flops": flops if head is None else {**flops, "head": head}}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"format": FORMAT, **manifest}, f, indent=2)
        f.write("\n")
    return reference


def load_from_onnx(module, path):
    """Sets a module's parameters from an ONNX graph exported from it, so PyTorch can run a
    folder's own weights. Initializers keep their parameter names, except Linear weights,
    which the exporter stores transposed as the second input of the MatMul node it names
    '/<module path>/MatMul'. Parameters found in neither are left as they are (callers check
    the module's outputs against the folder's reference.json)."""
    graph = load_onnx(path).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        *scopes, op = node.name.strip("/").split("/")
        if node.op_type != "MatMul" or op != "MatMul" or node.input[1] not in values:
            continue
        # A Sequential's children are scoped "mlp/mlp.0": the child's name holds the path.
        path = []
        for scope in scopes:
            if path and scope.startswith(path[-1] + "."):
                path.pop()
            path.append(scope)
        values.setdefault(".".join(path) + ".weight", values[node.input[1]].T)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name in values and tuple(values[name].shape) == tuple(tensor.shape):
                tensor.copy_(torch.from_numpy(values[name].copy()))


def verify_folder(folder, max_error=1e-4):
    """ONNX Runtime vs the PyTorch outputs in the folder's reference.json, through the Deno
    runtime (scripts/verify_folder.ts): prints the errors, exits above `max_error` relative."""
    deno = shutil.which("deno")
    command = [deno] if deno else (["npx", "-y", "deno@2"] if shutil.which("npx") else None)
    if command is None:
        print("check skipped: neither deno nor npx found", file=sys.stderr)
        return
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, "verify_folder.ts")
    result = subprocess.run(command + ["run", "-A", script, folder, "--max-error", str(max_error)],
                            cwd=os.path.dirname(here))
    if result.returncode != 0:
        sys.exit(result.returncode)
