"""A tiny safetensors writer and reader for the golden fixtures (Debian ships PyTorch but not the safetensors
package).

Layout, as the reference implementation writes it:
  * 8-byte little-endian header length N, then N bytes of compact JSON, padded with spaces to a multiple of 8;
  * the JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
    the end of the header), plus "__metadata__": a string -> string map;
  * tensors ordered by dtype alignment, descending (I64 before F32, so every tensor starts aligned to its
    element size), then by name; data little-endian, row-major, contiguous.
"""
import json
import struct

import torch

DTYPES = {torch.int64: "I64", torch.float64: "F64", torch.float32: "F32", torch.int32: "I32"}
TORCH = {v: k for k, v in DTYPES.items()}
# Element size decides the order: larger elements first keeps all data naturally aligned.
ALIGN = {"I64": 8, "F64": 8, "F32": 4, "I32": 4}


def _raw(t):
    a = t.detach().contiguous().numpy()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def dumps(tensors, metadata):
    """Serializes {name: tensor} and {str: str} metadata to safetensors bytes."""
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"safetensors metadata must map str to str, got {k!r}: {v!r}")
    items = sorted(tensors.items(), key=lambda kv: (-ALIGN[DTYPES[kv[1].dtype]], DTYPES[kv[1].dtype], kv[0]))
    header, blobs, offset = {"__metadata__": dict(metadata)}, [], 0
    for name, t in items:
        b = _raw(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def loads(data):
    """Parses safetensors bytes into ({name: tensor}, metadata), checking offsets tile the data exactly."""
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"safetensors: header of {n} bytes does not fit a file of {len(data)} bytes")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base, expect, out = 8 + n, 0, {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        if begin != expect:
            raise ValueError(f"safetensors: tensor '{name}' starts at {begin}, expected {expect}")
        dtype = TORCH[info["dtype"]]
        count = 1
        for s in info["shape"]:
            count *= s
        if end - begin != count * torch.tensor([], dtype=dtype).element_size():
            raise ValueError(f"safetensors: tensor '{name}' has {end - begin} bytes for shape {info['shape']}")
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
        expect = end
    if base + expect != len(data):
        raise ValueError(f"safetensors: data ends at byte {base + expect} but the file has {len(data)}")
    return out, metadata
