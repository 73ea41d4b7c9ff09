#!/usr/bin/env python3
"""Generates core/src/test/resources/golden/cnn.safetensors: PyTorch results for Kindling's convolution,
pooling and batch-norm ops (dev.kindling.nn.Functional), checked by core's CnnFixturesTest.

Run with Debian's Python and PyTorch:  /usr/bin/python3 tools/golden/cnn_fixtures.py

Each case draws float32-representable inputs and an upstream gradient "gout", runs forward and backward in
float64 and stores, under "<case>.<name>": the inputs, "y" (output), "gout", and "grad.<input>" (d sum(y * gout)
/ d input). Batch-norm cases also store the running statistics before ("rm", "rv") and after ("rm_after",
"rv_after") the call. The settings of each case are in CASES below and repeated in the Java test.
"""
import sys
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "core/src/test/resources/golden/cnn.safetensors"


def rnd(*shape):
    return torch.randn(*shape).float().double()


def conv(x, w, b, **kw):
    return {"x": x, "w": w, **({"b": b} if b is not None else {})}, lambda t: F.conv2d(t["x"], t["w"], t.get("b"), **kw)


CASES = {
    # name: (inputs, fn)
    "conv_basic": lambda: conv(rnd(2, 3, 7, 6), rnd(4, 3, 3, 3), rnd(4), stride=1, padding=1),
    "conv_groups": lambda: conv(rnd(2, 4, 9, 8), rnd(6, 2, 3, 2), rnd(6), stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=2),
    "conv_same": lambda: conv(rnd(1, 2, 6, 5), rnd(3, 2, 4, 2), None, padding="same"),
    "conv_1x1": lambda: conv(rnd(2, 5, 4, 4), rnd(3, 5, 1, 1), rnd(3)),
    "conv_stride3": lambda: conv(rnd(2, 2, 8, 7), rnd(3, 2, 3, 3), rnd(3), stride=3, padding=2),
    "maxpool": lambda: ({"x": rnd(2, 3, 7, 7)}, lambda t: F.max_pool2d(t["x"], 3, 2, 1)),
    "maxpool2": lambda: ({"x": rnd(2, 3, 6, 8)}, lambda t: F.max_pool2d(t["x"], 2)),
    "maxpool_dil_ceil": lambda: ({"x": rnd(1, 2, 8, 9)},
                                 lambda t: F.max_pool2d(t["x"], (2, 3), (2, 2), (1, 1), (1, 2), ceil_mode=True)),
    "avgpool": lambda: ({"x": rnd(2, 3, 7, 7)}, lambda t: F.avg_pool2d(t["x"], 3, 2, 1)),
    "avgpool_ceil_nopad": lambda: ({"x": rnd(1, 2, 8, 7)},
                                   lambda t: F.avg_pool2d(t["x"], (3, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False)),
    "adaptive": lambda: ({"x": rnd(2, 3, 7, 5)}, lambda t: F.adaptive_avg_pool2d(t["x"], (3, 2))),
}


def batchnorm_case(training):
    x, w, b = rnd(4, 3, 5, 5) * 2 + 1, rnd(3), rnd(3)
    rm, rv = rnd(3), torch.rand(3).float().double() + 0.5
    state = {"rm_after": rm.clone(), "rv_after": rv.clone()}

    def fn(t):
        return F.batch_norm(t["x"], state["rm_after"], state["rv_after"], t["w"], t["b"], training, 0.1, 1e-5)

    return {"x": x, "w": w, "b": b}, fn, {"rm": rm, "rv": rv}, state


def run(name, inputs, fn, tensors):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(leaves)
    gout = rnd(*y.shape)
    (y * gout).sum().backward()
    for k, v in inputs.items():
        tensors[f"{name}.{k}"] = v.float()
        tensors[f"{name}.grad.{k}"] = leaves[k].grad.float()
    tensors[f"{name}.y"] = y.detach().float()
    tensors[f"{name}.gout"] = gout.float()


def main():
    tensors = {}
    for name, make in CASES.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        inputs, fn = make()
        run(name, inputs, fn, tensors)
    for name, training in (("bn_train", True), ("bn_eval", False)):
        torch.manual_seed(zlib.crc32(name.encode()))
        inputs, fn, before, after = batchnorm_case(training)
        run(name, inputs, fn, tensors)
        for k, v in {**before, **after}.items():
            tensors[f"{name}.{k}"] = v.float()
    data = st.dumps(tensors, {"torch": torch.__version__})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    back, _ = st.loads(OUT.read_bytes())
    assert back.keys() == tensors.keys() and all(torch.equal(back[k], t) for k, t in tensors.items())
    print(f"{len(tensors)} tensors, {len(data)} bytes -> {OUT.relative_to(OUT.parents[5])}; read back OK")


if __name__ == "__main__":
    main()
