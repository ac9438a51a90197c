"""Writing a model folder under the halton-maskgit contract from PyTorch modules: the ONNX
graphs (opset 17, dynamic batch, the contract's input and output names), reference.json
(PyTorch outputs on fixed inputs, which the Deno tests compare ONNX Runtime against) and
model.json. Format 1 (class-to-image, write_folder) is shared by the stand-in builder and the
checkpoint converter; format 2 (text-to-image, write_text_folder; /work/contract/format2.md)
by the aMused converter and the text-to-image trainer."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import onnx
import torch
from onnx import numpy_helper
from torch.profiler import ProfilerActivity, profile

from positions import add_positions, load_onnx

FORMAT = "halton-maskgit/model@1"
FORMAT_TEXT = "halton-maskgit/model@2"
# Weights above this go to a file beside the graph (protobuf refuses messages over 2 GiB; the
# margin leaves room for the graph itself).
EXTERNAL_ABOVE = 1_800_000_000


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


def export_onnx(module, args, path, input_names, output_names, dynamic_axes):
    """torch.onnx.export at opset 17. A module whose weights would pass protobuf's 2 GB limit
    gets them in one file, PATH.data, beside the graph (ONNX Runtime finds it there by itself);
    torch alone would write one file per tensor."""
    data = path + ".data"
    if os.path.exists(data):  # onnx appends to an existing data file
        os.remove(data)
    size = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    options = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes, opset_version=17)
    if size < EXTERNAL_ABOVE:
        torch.onnx.export(module, args, path, **options)
        return
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as scratch:
        first = os.path.join(scratch, os.path.basename(path))
        torch.onnx.export(module, args, first, **options)
        gather_external(first, path)


def gather_external(source, path, inline_below=1024):
    """Saves the graph at `source` as `path` with every initializer of `inline_below` bytes or
    more in one file, PATH.data, copied one tensor at a time: onnx's own save_as_external_data
    would first load all of them (2.4 GB for aMused's transformer) into memory."""
    model = onnx.load(source, load_external_data=False)
    folder, data = os.path.dirname(os.path.abspath(source)), path + ".data"
    with open(data, "wb") as out:
        for tensor in model.graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                info = {entry.key: entry.value for entry in tensor.external_data}
                with open(os.path.join(folder, info["location"]), "rb") as f:
                    f.seek(int(info.get("offset", 0)))
                    blob = f.read(int(info["length"])) if "length" in info else f.read()
            elif tensor.HasField("raw_data") and len(tensor.raw_data) >= inline_below:
                blob = tensor.raw_data
                tensor.ClearField("raw_data")
            else:
                continue
            offset = out.tell()
            out.write(blob)
            del tensor.external_data[:]
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", os.path.basename(data)), ("offset", str(offset)),
                               ("length", str(len(blob)))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
    onnx.save(model, path)


def text_reference_inputs(grid, codebook_size, mask_id):
    """Two rows of tokens, every third position masked (shifted per row), the rest
    deterministic codes; and the decoder's grid of codes (the same rows, unmasked)."""
    n = grid * grid
    positions = torch.arange(n)
    codes = torch.stack([(positions * 7 + 3 * b) % codebook_size for b in range(2)])
    masked = torch.stack([(positions + b) % 3 == 0 for b in range(2)])
    return torch.where(masked, torch.full_like(codes, mask_id), codes), codes.reshape(2, grid, grid)


def write_text_folder(out, text_encoder, transformer, decoder, manifest, tokenizer, input_ids=None,
                      prompts=("a red apple", "")):
    """Writes a format-2 (text-to-image) folder: text_encoder.onnx, transformer.onnx (with the
    `positions` input where its head allows), decoder.onnx, tokenizer.json, reference.json and
    model.json. Returns the reference dict.

    text_encoder(input_ids [B, L] int64) -> hidden_states [B, L, D], or (hidden_states,
        pooled [B, P]) when the manifest's text block has "pooled".
    transformer(tokens [B, N] int64, text [B, L, D][, pooled [B, P]][, micro_conds [B, 5]])
        -> logits [B, N, V]; pooled only with text.pooled, micro_conds only with microConds.
    decoder(tokens [B, n, n] int64) -> image [B, C, H, W] in [-1, 1].
    manifest: model.json's fields but "format" and "flops" (added here); files named in
        manifest["files"] (transformer, decoder, textEncoder, tokenizer).
    tokenizer: the tokenizer.json object, written as given.
    input_ids: the two reference rows (a prompt, then the empty prompt) as the runtime builds
        them (bos + ids + eos + pad); by default `prompts` encoded with `tokenizer`, which must
        then be a CLIP-style BPE (scripts/convert/clip_tokenizer.py)."""
    os.makedirs(out, exist_ok=True)
    files, text = manifest["files"], manifest["text"]
    has_pooled, micro = "pooled" in text, manifest.get("microConds")
    grid, codebook, mask_id = manifest["grid"], manifest["codebookSize"], manifest["maskId"]
    if input_ids is None:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "convert"))
        from clip_tokenizer import encoder_from_tokenizer_json, runtime_ids
        encode = encoder_from_tokenizer_json(tokenizer).encode
        input_ids = [runtime_ids(encode(p), text["length"], text["bos"], text["eos"], text["pad"]) for p in prompts]
    input_ids = torch.as_tensor(input_ids, dtype=torch.long)
    tokens, codes = text_reference_inputs(grid, codebook, mask_id)
    micro_conds = torch.tensor([micro] * 2, dtype=torch.float32) if micro else None
    for module in (text_encoder, transformer, decoder):
        module.eval()

    batch = lambda *names: {k: {0: "batch"} for k in names}  # noqa: E731
    with torch.no_grad():
        encoded = text_encoder(input_ids)
        hidden, pooled = encoded if has_pooled else (encoded, None)
        text_outputs = ["hidden_states", *(["pooled"] if has_pooled else [])]
        export_onnx(text_encoder, (input_ids,), os.path.join(out, files["textEncoder"]), ["input_ids"], text_outputs,
                    batch("input_ids", *text_outputs))
        conditions = [hidden, *([pooled] if has_pooled else []), *([micro_conds] if micro else [])]
        names = ["tokens", "text", *(["pooled"] if has_pooled else []), *(["micro_conds"] if micro else [])]
        export_onnx(transformer, (tokens, *conditions), os.path.join(out, files["transformer"]), names, ["logits"],
                    batch(*names, "logits"))
        export_onnx(decoder, (codes,), os.path.join(out, files["decoder"]), ["tokens"], ["image"],
                    batch("tokens", "image"))
        logits, image = transformer(tokens, *conditions), decoder(codes)
    head, unchanged = add_positions(os.path.join(out, files["transformer"]))
    if unchanged:
        print(f"note: no positions input ({unchanged}); every step computes all logits")
    with open(os.path.join(out, files["tokenizer"]), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)

    reference = {
        "text_encoder": {"input_ids": input_ids.tolist(), "hidden_states": strided(hidden),
                         **({"pooled": strided(pooled)} if has_pooled else {})},
        "transformer": {"tokens": tokens.tolist(), **({"micro_conds": micro_conds.tolist()} if micro else {}),
                        "logits": strided(logits)},
        "decoder": {"tokens": codes.tolist(), "image": strided(image)},
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)
    row = lambda t: None if t is None else t[:1]  # noqa: E731
    flops = {
        "transformer": count_flops(transformer, tokens[:1], *[row(c) for c in conditions]),
        "decoder": count_flops(decoder, codes[:1]),
        "textEncoder": count_flops(text_encoder, input_ids[:1]),
    }
    if head is not None:
        flops["head"] = head
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"format": FORMAT_TEXT, **manifest, "flops": flops}, f, indent=2)
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


def deno_command():
    """How to start Deno here: `deno` where installed, else `npx -y deno@2`; None if neither."""
    deno = shutil.which("deno")
    return [deno] if deno else (["npx", "-y", "deno@2"] if shutil.which("npx") else None)


def verify_folder(folder, max_error=1e-4):
    """ONNX Runtime vs the PyTorch outputs in the folder's reference.json, through the Deno
    runtime (scripts/verify_folder.ts): prints the errors, exits above `max_error` relative."""
    command = deno_command()
    if command is None:
        print("check skipped: neither deno nor npx found", file=sys.stderr)
        return
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, "verify_folder.ts")
    result = subprocess.run(command + ["run", "-A", script, folder, "--max-error", str(max_error)],
                            cwd=os.path.dirname(here))
    if result.returncode != 0:
        sys.exit(result.returncode)
