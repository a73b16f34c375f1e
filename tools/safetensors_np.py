"""safetensors_np: read and write .safetensors files with numpy only.

Debian ships no Python safetensors package, and the format is small: an
8-byte little-endian header length N, N bytes of JSON mapping tensor names to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the end
of the header), an optional "__metadata__" object of strings, then the raw
little-endian tensor bytes. BF16 has no numpy dtype: it is read as uint16
and widened to float32 by shifting into the high half.
"""
import json
import struct

import numpy as np

_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
       "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def load(path):
    """Returns (tensors: dict name -> np.ndarray (float32 for BF16), metadata: dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = blob[base + b: base + e]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32).reshape(shape)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP[info["dtype"]]).newbyteorder("<")).reshape(shape)
        out[name] = arr
    return out, meta


def _bf16_bytes(a):
    """Round-to-nearest-even float32 -> bfloat16, as torch does."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def save(path, tensors, metadata=None, dtype="F32"):
    """Writes tensors (dict name -> array) in insertion order. dtype applies to
    floating tensors (F32, F16 or BF16); bool and integer tensors keep theirs."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        if arr.dtype == np.bool_:
            code, raw = "BOOL", arr.astype(np.uint8).tobytes()
        elif np.issubdtype(arr.dtype, np.integer):
            code = {np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}[arr.dtype]
            raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        elif dtype == "BF16":
            code, raw = "BF16", _bf16_bytes(arr)
        elif dtype == "F16":
            code, raw = "F16", arr.astype("<f2").tobytes()
        else:
            code, raw = "F32", arr.astype("<f4").tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # keep tensor data 8-byte aligned, as HF does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
