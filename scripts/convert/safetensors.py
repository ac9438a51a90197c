"""Reading and writing .safetensors files without the safetensors package (Debian has none).

The format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name
to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that follows the
header; an optional "__metadata__" entry holds strings), then the raw little-endian data.

    load(path) -> {name: float32 torch tensor (integer dtypes keep theirs)}
    save(tensors, path, dtype=None, metadata=None)

Every problem with a file is a SafetensorsError whose message starts with the file's path.
"""

import json
import os

import numpy as np
import torch

# Element sizes in bytes, and the numpy type that reads each (BF16 is read as its bits).
DTYPES = {
    "F64": (8, "<f8"), "F32": (4, "<f4"), "F16": (2, "<f2"), "BF16": (2, "<u2"),
    "I64": (8, "<i8"), "I32": (4, "<i4"), "I16": (2, "<i2"), "I8": (1, "i1"), "U8": (1, "u1"),
    "BOOL": (1, "?"),
}
FLOATS = {"F64", "F32", "F16", "BF16"}
# A header larger than this is not a header (the format's own readers cap it at 100 MB).
MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    pass


def read_header(path):
    """(header dict without __metadata__, metadata, offset of the data) for a file."""
    def bad(what):
        return SafetensorsError(f"{path}: {what}")

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise bad(f"truncated: {size} bytes, not even the 8-byte header length")
            n = int.from_bytes(head, "little")
            if n > MAX_HEADER or 8 + n > size:
                raise bad(f"truncated or not a safetensors file (header of {n} bytes in a file of {size})")
            raw = f.read(n)
    except OSError as error:
        raise bad(error.strerror or str(error)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("corrupt header (not JSON)") from None
    if not isinstance(header, dict):
        raise bad("corrupt header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    start, data_size = 8 + n, size - 8 - n
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise bad(f"corrupt header entry for '{name}'") from None
        if dtype not in DTYPES:
            raise bad(f"'{name}' has dtype {dtype}, which this reader does not know")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= begin <= end) or end - begin != count * DTYPES[dtype][0]:
            raise bad(f"'{name}': offsets {begin}..{end} do not hold a {dtype} tensor of shape {shape}")
        if end > data_size:
            raise bad(f"truncated: '{name}' ends at byte {end} of the data, the file holds {data_size}")
    return header, metadata, start


def _to_torch(array, dtype):
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        return torch.from_numpy((array.astype(np.uint32) << 16).view(np.float32))
    if dtype in FLOATS:
        return torch.from_numpy(array.astype(np.float32))
    return torch.from_numpy(array.copy())


def load(path, names=None):
    """Every tensor of a file (or those in `names`), floats as float32."""
    header, _, start = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=start) if os.path.getsize(path) > start else None
    tensors = {}
    for name, entry in header.items():
        if names is not None and name not in names:
            continue
        begin, end = entry["data_offsets"]
        dtype, shape = entry["dtype"], entry["shape"]
        raw = data[begin:end] if end > begin else np.zeros(0, dtype=np.uint8)
        array = np.frombuffer(raw, dtype=DTYPES[dtype][1]).reshape(shape)
        tensors[name] = _to_torch(array, dtype)
    return tensors


def _encode(tensor, dtype):
    """(safetensors dtype name, little-endian bytes) of a tensor, cast to `dtype` if given."""
    t = tensor.detach().cpu().contiguous()
    if t.is_floating_point():
        name = dtype or {torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16"}.get(t.dtype, "F32")
        if name == "BF16":  # round to nearest even, as torch does
            return name, t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        return name, t.numpy().astype(DTYPES[name][1]).tobytes()
    names = {torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}
    name = names[t.dtype]
    return name, t.numpy().astype(DTYPES[name][1]).tobytes()


def save(tensors, path, dtype=None, metadata=None):
    """Writes a file; floating-point tensors are cast to `dtype` ("F32", "F16", "BF16") when
    given. Tensors are laid out in name order; the header is padded with spaces to a multiple
    of 8 bytes so that the data is aligned, as the format's own writer does."""
    if dtype is not None and dtype not in FLOATS:
        raise ValueError(f"dtype must be one of {sorted(FLOATS)}, not {dtype}")
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        kind, data = _encode(tensors[name], dtype)
        header[name] = {"dtype": kind, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for chunk in chunks:
            f.write(chunk)
