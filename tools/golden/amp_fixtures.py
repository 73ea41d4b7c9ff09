#!/usr/bin/env python3
"""Writes core/src/test/resources/golden/amp.safetensors: what PyTorch's CPU autocast in bfloat16 computes for
matmul and linear, forward and backward, for dev.kindling.tensor.AutocastFixturesTest.

For each case <c> (all tensors F32; bf16 results are stored as their exact float values):
  <c>.in.<i>    the FLOAT32 inputs (the master values; autocast casts them to bf16 itself)
  <c>.gout      the upstream gradient of the output
  <c>.out       the output under torch.autocast("cpu", torch.bfloat16) (its dtype there is bfloat16)
  <c>.grad.<i>  the gradient of sum(out * gout) for input i (float32, as autograd casts it back to the input's dtype)
  <c>.ref.out, <c>.ref.grad.<i>  the same semantics computed exactly: in float64 with every autocast cast (and the
                cast of each gradient flowing back through it) rounded to bf16, i.e. FLOAT32 accumulation without
                its rounding error

Debian's PyTorch 1.13 (generic BLAS) multiplies bf16 matrices with partly bf16 accumulation, so its results are
a few bf16 steps from the exact ones (the script prints how far); a GEMM with float accumulators, as autocast
asks for, lands within one rounding of the reference. The Java test holds Kindling to the reference tightly and
to PyTorch's own output normwise.

Cases:
  linear      F.linear(x [5, 24], w [7, 24], b [7])
  linear_nb   F.linear(x [2, 3, 16], w [9, 16])            (3-D input, no bias)
  matmul_2d   a [6, 20] @ b [20, 5]
  matmul_3d2d a [2, 4, 16] @ w [16, 12]                    (a GPT-2 Conv1D)
  bmm         a [2, 3, 4, 8] @ b [2, 3, 8, 5]              (attention-shaped)
  mlp         cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), t) with t = in.1 (I64); out is the fp32 loss

PyTorch 1.13's CPU autocast supports only bfloat16, so there is no F16 fixture; the Java tests check F16 against
its definition (rounded inputs, float accumulation, rounded output).

    /usr/bin/python3 tools/golden/amp_fixtures.py
"""
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

import st

OUT = Path(__file__).resolve().parents[2] / "core/src/test/resources/golden/amp.safetensors"


class RoundBf16(torch.autograd.Function):
    """An autocast cast in float64: the value rounded to bf16, and the gradient flowing back rounded too."""

    @staticmethod
    def forward(ctx, x):
        return x.bfloat16().double()

    @staticmethod
    def backward(ctx, g):
        return g.bfloat16().double()


def r(x):
    return RoundBf16.apply(x)


def exact(name, x, y, *rest):
    """The reference semantics of each case in float64."""
    if name.startswith("linear"):
        return r(F.linear(r(x), r(y), r(rest[0]) if rest else None))
    if name == "mlp":
        w1, b1, w2, b2 = rest
        return F.cross_entropy(r(F.linear(F.linear(r(x), r(w1), r(b1)).relu(), r(w2), r(b2))), y)
    return r(r(x) @ r(y))


def run(tensors, name, fn, inputs, grads_for):
    torch.manual_seed(zlib.crc32(name.encode()))
    xs = [t() for t in inputs]
    for i, x in enumerate(xs):
        tensors[f"{name}.in.{i}"] = x.clone()
        if i in grads_for:
            x.requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fn(*xs)
    gout = torch.randn(out.shape)
    (out.float() * gout).sum().backward()
    tensors[f"{name}.out"] = out.detach().float()
    tensors[f"{name}.gout"] = gout
    for i in grads_for:
        assert xs[i].grad.dtype == torch.float32
        tensors[f"{name}.grad.{i}"] = xs[i].grad.clone()
    ds = [x.detach().double() if x.is_floating_point() else x for x in xs]
    for i in grads_for:
        ds[i].requires_grad_(True)
    ref = exact(name, *ds)
    (ref * gout.double()).sum().backward()
    tensors[f"{name}.ref.out"] = ref.detach().float()
    worst = normwise(out.detach().double(), ref.detach())
    for i in grads_for:
        tensors[f"{name}.ref.grad.{i}"] = ds[i].grad.float()
        worst = max(worst, normwise(xs[i].grad.double(), ds[i].grad))
    print(f"{name}: PyTorch vs exact semantics, worst normwise difference {worst:.2e}")
    return out.dtype


def normwise(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def main():
    t = {}
    rn = torch.randn
    dtypes = {
        "linear": run(t, "linear", F.linear, [lambda: rn(5, 24), lambda: rn(7, 24) * 0.3, lambda: rn(7)], (0, 1, 2)),
        "linear_nb": run(t, "linear_nb", F.linear, [lambda: rn(2, 3, 16), lambda: rn(9, 16) * 0.3], (0, 1)),
        "matmul_2d": run(t, "matmul_2d", torch.matmul, [lambda: rn(6, 20), lambda: rn(20, 5)], (0, 1)),
        "matmul_3d2d": run(t, "matmul_3d2d", torch.matmul, [lambda: rn(2, 4, 16), lambda: rn(16, 12) * 0.2], (0, 1)),
        "bmm": run(t, "bmm", torch.matmul, [lambda: rn(2, 3, 4, 8), lambda: rn(2, 3, 8, 5)], (0, 1)),
        "mlp": run(t, "mlp", lambda x, y, w1, b1, w2, b2: F.cross_entropy(F.linear(F.linear(x, w1, b1).relu(), w2, b2), y),
                   [lambda: rn(8, 20), lambda: torch.randint(0, 5, (8,)), lambda: rn(16, 20) * 0.2, lambda: rn(16) * 0.1,
                    lambda: rn(5, 16) * 0.2, lambda: rn(5) * 0.1], (0, 2, 3, 4, 5)),
    }
    for name, dt in dtypes.items():
        print(f"{name}: output dtype {dt}")
    assert dtypes["mlp"] == torch.float32 and all(d == torch.bfloat16 for n, d in dtypes.items() if n != "mlp")
    data = st.dumps(t, {"torch": torch.__version__})
    OUT.write_bytes(data)
    back, _ = st.loads(data)
    assert set(back) == set(t) and all(torch.equal(back[k], v) for k, v in t.items())
    print(f"wrote {len(t)} tensors to {OUT}")


if __name__ == "__main__":
    main()
