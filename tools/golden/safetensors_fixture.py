#!/usr/bin/env python3
"""Writes core/src/test/resources/dev/kindling/io/golden.safetensors with PyTorch tensors of every dtype Kindling
supports, byte for byte the way the reference safetensors implementation (the Rust crate behind
`safetensors.torch.save_file`) lays a file out:

  * tensors sorted by dtype alignment, descending (I64, F64, F32, I32, BF16, F16, I8, U8, BOOL), then by name;
  * header = compact JSON ({"__metadata__": ..., then the tensors in that order}), non-ASCII left as UTF-8,
    padded with spaces to a multiple of 8 bytes; 8-byte little-endian header length in front;
  * data little-endian, row-major, contiguous.

Debian ships PyTorch but not the safetensors package, hence this small writer. (Checked once against the real
package: its save_file writes the very same bytes for these tensors, and its load_file reads files Kindling writes.
The reference orders __metadata__ keys by hash, so with several keys only the order may differ.) The tensor bytes come from torch
itself, so BF16/F16 rounding (ties to even, overflow to inf, subnormals) is PyTorch's.

Run it with a Python that has Debian's python3-torch (apt-get install -y python3-torch):

    python3 tools/golden/safetensors_fixture.py            # regenerate the fixture
    python3 tools/golden/safetensors_fixture.py --check F  # load a safetensors file F into torch and print it
"""
import json
import struct
import sys
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[2] / "core/src/test/resources/dev/kindling/io/golden.safetensors"

# Rust `Dtype` enum order; the reference writer sorts by it, descending.
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64",
         "U64"]
NAMES = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.float16: "F16", torch.bfloat16: "BF16",
         torch.int32: "I32", torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
TORCH = {v: k for k, v in NAMES.items()}
inf, nan = float("inf"), float("nan")


def tensors():
    f32 = torch.tensor
    return {
        "f32": f32([[0.5, -1.25, 3.0], [0.1, 1e-8, -0.0]], dtype=torch.float32),
        "f64": f32([1.0 / 3.0, -2.0, 1e300], dtype=torch.float64),
        # 1 + 2^-8 and 1 + 3 * 2^-8 are ties: they round to the even neighbours 1.0 and 1.015625.
        "bf16": f32([1.0, -2.5, 3.140625, 0.1, 65504.0, 1.00390625, 1.01171875, inf, -inf, nan],
                    dtype=torch.float32).to(torch.bfloat16),
        # 65519 rounds down to 65504, 65520 (a tie) to inf; 2^-24 is the smallest subnormal, 2^-25 ties to 0,
        # 3 * 2^-26 rounds up to 2^-24.
        "f16": f32([1.0, -2.5, 65504.0, 65519.0, 65520.0, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 0.001, nan],
                   dtype=torch.float32).to(torch.float16),
        "i64": f32([0, -1, 2 ** 40, -2 ** 63, 2 ** 63 - 1], dtype=torch.int64),
        "i32": f32([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int32),
        "i8": f32([-128, 127, 0, -1], dtype=torch.int8),
        "u8": f32([0, 255, 128], dtype=torch.uint8),
        "bool": f32([True, False, True], dtype=torch.bool),
        "scalar": f32(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }


METADATA = {"format": "pt", "note": "caf\u00e9 \u2713 \"quoted\" back\\slash"}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)  # numpy has no bfloat16; same bits
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def serialize(named, metadata):
    items = sorted(named.items(), key=lambda kv: (-ORDER.index(NAMES[kv[1].dtype]), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in items:
        b = raw_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def check(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    print("metadata:", header.pop("__metadata__", None))
    for name, info in header.items():
        begin, end = info["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        dtype = TORCH[info["dtype"]]
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        print(name, info["dtype"], info["shape"], t.reshape(info["shape"]).tolist())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_bytes(serialize(tensors(), METADATA))
        print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
