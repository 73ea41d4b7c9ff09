#!/usr/bin/env python3
"""Generates core/src/test/resources/golden/ops.safetensors: forward outputs and gradients from PyTorch for
every case below, so Java tests can check Kindling's ops with no Python around. See README.md in this folder
for the naming convention and every op's arguments.

Run with Debian's Python and PyTorch:  /usr/bin/python3 tools/golden/make_fixtures.py

Deterministic: each case seeds torch with a CRC of its name (so adding a case changes no other), inputs are
drawn, rounded to float32 and then used in float64; forward and backward run in float64 and only the stored
results are rounded to float32. Fixtures are therefore exact up to one float32 rounding.
"""
import json
import math
import sys
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "core/src/test/resources/golden/ops.safetensors"
F64 = torch.float64


# ------------------------------------------------------------------ input makers (float32-representable float64)

def f32(t):
    return t.to(torch.float32).to(F64)


def randn(*shape, scale=1.0):
    return f32(torch.randn(shape, dtype=F64) * scale)


def uniform(lo, hi, *shape):
    return f32(torch.rand(shape, dtype=F64) * (hi - lo) + lo)


def away(*shape, margin=0.1, points=(0.0,)):
    """Normal values kept at least `margin` from each kink in `points` (relu/abs at 0, clamp at its bounds),
    so the finite gradient is unambiguous."""
    t = torch.randn(shape, dtype=F64)
    for p in points:
        near = (t - p).abs() < margin
        t = torch.where(near, p + torch.where(t >= p, 1.0, -1.0) * (margin + (t - p).abs()), t)
    return f32(t)


def mask01(*shape, p=0.5):
    return (torch.rand(shape, dtype=F64) < p).to(F64)


def index(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int64)


def linear_weight(out_f, in_f):
    b = 1.0 / math.sqrt(in_f)
    return uniform(-b, b, out_f, in_f)


# ------------------------------------------------------------------ case registry

CASES = []


def case(name, op, args, make, fn, nograd=(), gout=None):
    """Registers a case. make() draws the inputs (after seeding); fn(*inputs) is the PyTorch reference.
    Float inputs get gradients except those whose positions are in nograd; int64 inputs never do."""
    assert "." not in name and name not in {c[0] for c in CASES}, name
    CASES.append((name, op, args, make, fn, tuple(nograd), gout))


def run(name, op, args, make, fn, nograd, gout_value):
    torch.manual_seed(zlib.crc32(name.encode()))
    inputs = make()
    named = {}
    xs = []
    for i, t in enumerate(inputs):
        named[f"{name}.in.{i}"] = t if t.dtype == torch.int64 else t.to(torch.float32)
        grad = t.is_floating_point() and i not in nograd
        xs.append(t.clone().requires_grad_(grad))
    out = fn(*xs)
    if isinstance(out, tuple):
        for j, o in enumerate(out):
            named[f"{name}.out.{j}"] = o.detach() if o.dtype == torch.int64 else o.detach().to(torch.float32)
        diff = out[0]
    else:
        named[f"{name}.out"] = out.detach() if out.dtype == torch.int64 else out.detach().to(torch.float32)
        diff = out
    wanted = [i for i, x in enumerate(xs) if x.requires_grad]
    if diff.is_floating_point() and wanted:
        g = torch.full(diff.shape, gout_value, dtype=F64) if gout_value is not None else randn(*diff.shape)
        named[f"{name}.gout"] = g.to(torch.float32)
        grads = torch.autograd.grad((diff * g).sum(), [xs[i] for i in wanted], allow_unused=True)
        for i, gr in zip(wanted, grads):
            named[f"{name}.grad.{i}"] = (torch.zeros_like(xs[i]) if gr is None else gr).to(torch.float32)
    meta = {"op": op}
    if args:
        meta["args"] = args
    return named, json.dumps(meta, separators=(",", ":"))


# ------------------------------------------------------------------ elementwise binary (with broadcasting)

BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "maximum": torch.maximum, "minimum": torch.minimum}
SHAPES = [((3, 4), (4,)), ((2, 1, 3), (1, 4, 1)), ((), (2, 3)), ((2, 3), ())]
for op, f in BINARY.items():
    for a, b in SHAPES:
        tag = "x".join(map(str, a)) or "s"
        tag2 = "x".join(map(str, b)) or "s"
        case(f"{op}_{tag}_{tag2}", op, None, lambda a=a, b=b: [randn(*a), randn(*b)], f)
for a, b in SHAPES:
    tag = "x".join(map(str, a)) or "s"
    tag2 = "x".join(map(str, b)) or "s"
    # Denominators in +-[0.5, 2] keep the quotient and its gradient well scaled.
    case(f"div_{tag}_{tag2}", "div", None,
         lambda a=a, b=b: [randn(*a), uniform(0.5, 2.0, *b) * torch.where(torch.rand(b) < 0.5, -1.0, 1.0).to(F64)],
         torch.div)
    case(f"pow_{tag}_{tag2}", "pow", None, lambda a=a, b=b: [uniform(0.5, 2.0, *a), uniform(-2.0, 2.0, *b)], torch.pow)
case("pow_scalar_2p5", "pow", {"exponent": 2.5}, lambda: [uniform(0.5, 2.0, 3, 4)], lambda x: torch.pow(x, 2.5))
case("pow_scalar_m1", "pow", {"exponent": -1.0}, lambda: [uniform(0.5, 2.0, 2, 3)], lambda x: torch.pow(x, -1.0))
case("pow_scalar_2", "pow", {"exponent": 2.0}, lambda: [randn(2, 3)], lambda x: torch.pow(x, 2.0))

# ------------------------------------------------------------------ unary

UNARY = [
    ("neg", None, lambda: randn(3, 4), torch.neg),
    ("exp", None, lambda: randn(3, 4), torch.exp),
    ("log", None, lambda: uniform(0.1, 3.0, 3, 4), torch.log),
    ("sqrt", None, lambda: uniform(0.1, 3.0, 3, 4), torch.sqrt),
    ("rsqrt", None, lambda: uniform(0.1, 3.0, 3, 4), torch.rsqrt),
    ("abs", None, lambda: away(3, 4), torch.abs),
    ("tanh", None, lambda: randn(3, 4, scale=2.0), torch.tanh),
    ("sigmoid", None, lambda: randn(3, 4, scale=2.0), torch.sigmoid),
    ("relu", None, lambda: away(3, 4), torch.relu),
    ("gelu", {"approximate": "none"}, lambda: randn(3, 4, scale=2.0), lambda x: F.gelu(x, approximate="none")),
    ("gelu", {"approximate": "tanh"}, lambda: randn(3, 4, scale=2.0), lambda x: F.gelu(x, approximate="tanh")),
    ("silu", None, lambda: randn(3, 4, scale=2.0), F.silu),
    ("clamp", {"min": -0.5, "max": 0.5}, lambda: away(3, 4, margin=0.05, points=(-0.5, 0.5)),
     lambda x: torch.clamp(x, -0.5, 0.5)),
]
for op, args, make, f in UNARY:
    name = op if op != "gelu" else f"gelu_{args['approximate']}"
    case(name, op, args, lambda make=make: [make()], f)
case("exp_2x1x3", "exp", None, lambda: [randn(2, 1, 3)], torch.exp)
case("tanh_scalar", "tanh", None, lambda: [randn()], torch.tanh)

# ------------------------------------------------------------------ where / masked_fill (masks are float 0/1)

case("where_3x4", "where", None, lambda: [mask01(3, 4), randn(3, 4), randn(3, 4)],
     lambda m, a, b: torch.where(m != 0, a, b), nograd=(0,))
case("where_bcast", "where", None, lambda: [mask01(3, 1), randn(3, 4), randn(4)],
     lambda m, a, b: torch.where(m != 0, a, b), nograd=(0,))
case("masked_fill_3x4", "masked_fill", {"value": -1.5}, lambda: [randn(3, 4), mask01(3, 4)],
     lambda x, m: x.masked_fill(m != 0, -1.5), nograd=(1,))
case("masked_fill_bcast", "masked_fill", {"value": 2.0}, lambda: [randn(2, 3, 4), mask01(1, 4)],
     lambda x, m: x.masked_fill(m != 0, 2.0), nograd=(1,))

# ------------------------------------------------------------------ reductions


def reduce_case(name, op, shape, dims, keepdim, f, make=None):
    case(name, op, {"dims": dims, "keepdim": keepdim}, make or (lambda: [randn(*shape)]), f)


reduce_case("sum_all", "sum", (3, 4), None, False, torch.sum)
reduce_case("sum_d1_keep", "sum", (2, 3, 4), [1], True, lambda x: x.sum(dim=[1], keepdim=True))
reduce_case("sum_d02", "sum", (2, 3, 4), [0, 2], False, lambda x: x.sum(dim=[0, 2]))
reduce_case("sum_dneg1", "sum", (2, 1, 3), [-1], False, lambda x: x.sum(dim=[-1]))
reduce_case("mean_all", "mean", (3, 4), None, False, torch.mean)
reduce_case("mean_d1_keep", "mean", (2, 3, 4), [1], True, lambda x: x.mean(dim=[1], keepdim=True))
reduce_case("mean_d02", "mean", (2, 3, 4), [0, 2], False, lambda x: x.mean(dim=[0, 2]))
for op, f in (("var", torch.var), ("std", torch.std)):
    for corr in (1, 0):
        case(f"{op}_d1_c{corr}", op, {"dims": [1], "correction": corr, "keepdim": False},
             lambda: [randn(3, 5)], lambda x, f=f, corr=corr: f(x, dim=[1], unbiased=corr == 1, keepdim=False))
    case(f"{op}_all_c1", op, {"dims": None, "correction": 1, "keepdim": False},
         lambda: [randn(3, 4)], lambda x, f=f: f(x, unbiased=True))
    case(f"{op}_d02_c0_keep", op, {"dims": [0, 2], "correction": 0, "keepdim": True},
         lambda: [randn(2, 3, 4)], lambda x, f=f: f(x, dim=[0, 2], unbiased=False, keepdim=True))


def distinct(*shape):
    """Values whose pairwise gaps are at least 0.05, so max/min/argmax have a single, stable winner."""
    n = 1
    for s in shape:
        n *= s
    return f32((torch.randperm(n, dtype=F64) * 0.05 + torch.rand(n, dtype=F64) * 0.01 - n * 0.025).reshape(shape))


case("max_d1", "max", {"dim": 1, "keepdim": False}, lambda: [distinct(3, 5)], lambda x: tuple(torch.max(x, 1, False)))
case("max_d0_keep", "max", {"dim": 0, "keepdim": True}, lambda: [distinct(4, 3)],
     lambda x: tuple(torch.max(x, 0, True)))
case("min_d1", "min", {"dim": 1, "keepdim": False}, lambda: [distinct(3, 5)], lambda x: tuple(torch.min(x, 1, False)))
case("min_dneg1_keep", "min", {"dim": -1, "keepdim": True}, lambda: [distinct(2, 3, 4)],
     lambda x: tuple(torch.min(x, -1, True)))
case("amax_all", "amax", None, lambda: [distinct(3, 4)], torch.amax)
case("amin_all", "amin", None, lambda: [distinct(3, 4)], torch.amin)
case("argmax_d1", "argmax", {"dim": 1, "keepdim": False}, lambda: [distinct(3, 5)], lambda x: torch.argmax(x, 1))
case("argmax_d0_keep", "argmax", {"dim": 0, "keepdim": True}, lambda: [distinct(4, 3)],
     lambda x: torch.argmax(x, 0, True))
case("argmax_all", "argmax", {"dim": None, "keepdim": False}, lambda: [distinct(3, 4)], torch.argmax)
case("logsumexp_d1", "logsumexp", {"dim": 1, "keepdim": False}, lambda: [randn(3, 5, scale=3.0)],
     lambda x: torch.logsumexp(x, 1))
case("logsumexp_d0_keep", "logsumexp", {"dim": 0, "keepdim": True}, lambda: [randn(4, 3, scale=3.0)],
     lambda x: torch.logsumexp(x, 0, True))
for op, f in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
    case(f"{op}_dneg1", op, {"dim": -1}, lambda: [randn(2, 3, 5, scale=2.0)], lambda x, f=f: f(x, -1))
    case(f"{op}_d0", op, {"dim": 0}, lambda: [randn(4, 3, scale=2.0)], lambda x, f=f: f(x, 0))
# Large logits: a naive exp overflows float32, a max-subtracting kernel does not.
case("softmax_large", "softmax", {"dim": -1}, lambda: [randn(2, 4, scale=2.0) + 100.0], lambda x: torch.softmax(x, -1))

# ------------------------------------------------------------------ matmul / linear

MATMUL = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 3)), ((3, 4), (4, 5)), ((2, 3, 4, 5), (5, 6)),
          ((2, 1, 3, 4), (1, 5, 4, 2)), ((2, 3, 4), (2, 4, 3)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]
for a, b in MATMUL:
    case(f"matmul_{'x'.join(map(str, a))}_{'x'.join(map(str, b))}", "matmul", None,
         lambda a=a, b=b: [randn(*a), randn(*b)], torch.matmul)
case("linear_bias", "linear", None, lambda: [randn(4, 6), linear_weight(5, 6), randn(5, scale=0.1)], F.linear)
case("linear_bias_3d", "linear", None, lambda: [randn(2, 3, 6), linear_weight(5, 6), randn(5, scale=0.1)], F.linear)
case("linear_nobias", "linear", None, lambda: [randn(4, 6), linear_weight(3, 6)], F.linear)

# ------------------------------------------------------------------ shape ops

case("transpose_0_2", "transpose", {"dim0": 0, "dim1": 2}, lambda: [randn(2, 3, 4)], lambda x: x.transpose(0, 2))
case("transpose_neg", "transpose", {"dim0": -2, "dim1": -1}, lambda: [randn(2, 3, 4)], lambda x: x.transpose(-2, -1))
case("permute_201", "permute", {"dims": [2, 0, 1]}, lambda: [randn(2, 3, 4)], lambda x: x.permute(2, 0, 1))
case("reshape_4x6", "reshape", {"shape": [4, 6]}, lambda: [randn(2, 3, 4)], lambda x: x.reshape(4, 6))
case("reshape_infer", "reshape", {"shape": [3, -1, 2]}, lambda: [randn(2, 3, 4)], lambda x: x.reshape(3, -1, 2))
case("narrow_d1", "narrow", {"dim": 1, "start": 1, "length": 2}, lambda: [randn(3, 4, 2)], lambda x: x.narrow(1, 1, 2))
case("select_d1", "select", {"dim": 1, "index": 2}, lambda: [randn(2, 4, 3)], lambda x: x.select(1, 2))
case("select_d0", "select", {"dim": 0, "index": 0}, lambda: [randn(3, 4)], lambda x: x.select(0, 0))
case("cat_d1", "cat", {"dim": 1}, lambda: [randn(2, 1, 3), randn(2, 3, 3), randn(2, 2, 3)],
     lambda *xs: torch.cat(xs, 1))
case("cat_d0", "cat", {"dim": 0}, lambda: [randn(1, 4), randn(2, 4), randn(3, 4)], lambda *xs: torch.cat(xs, 0))
case("stack_d1", "stack", {"dim": 1}, lambda: [randn(3, 4), randn(3, 4), randn(3, 4)], lambda *xs: torch.stack(xs, 1))
case("stack_d0", "stack", {"dim": 0}, lambda: [randn(2, 3), randn(2, 3)], lambda *xs: torch.stack(xs, 0))
case("expand_3x1", "expand", {"sizes": [2, 3, 4]}, lambda: [randn(3, 1)], lambda x: x.expand(2, 3, 4))
case("expand_1x4x1", "expand", {"sizes": [3, 4, 2]}, lambda: [randn(1, 4, 1)], lambda x: x.expand(3, 4, 2))
case("tril_0", "tril", {"k": 0}, lambda: [randn(4, 5)], lambda x: torch.tril(x, 0))
case("tril_m1_batched", "tril", {"k": -1}, lambda: [randn(2, 3, 4)], lambda x: torch.tril(x, -1))
case("triu_1", "triu", {"k": 1}, lambda: [randn(4, 5)], lambda x: torch.triu(x, 1))
case("triu_0_batched", "triu", {"k": 0}, lambda: [randn(2, 4, 3)], lambda x: torch.triu(x, 0))
case("index_select_d0", "index_select", {"dim": 0}, lambda: [randn(5, 3), torch.tensor([4, 0, 2, 0])],
     lambda x, i: x.index_select(0, i))
case("index_select_d1", "index_select", {"dim": 1}, lambda: [randn(2, 5), torch.tensor([1, 1, 3])],
     lambda x, i: x.index_select(1, i))
case("gather_d1", "gather", {"dim": 1}, lambda: [randn(3, 4), index(4, 3, 2)], lambda x, i: x.gather(1, i))
case("gather_d0", "gather", {"dim": 0}, lambda: [randn(4, 3), index(4, 5, 3)], lambda x, i: x.gather(0, i))
case("scatter_add_d1", "scatter_add", {"dim": 1}, lambda: [randn(3, 5), index(5, 3, 4), randn(3, 4)],
     lambda x, i, s: x.scatter_add(1, i, s))
case("scatter_add_d0", "scatter_add", {"dim": 0}, lambda: [randn(3, 4), index(3, 5, 4), randn(5, 4)],
     lambda x, i, s: x.scatter_add(0, i, s))
case("embedding", "embedding", None, lambda: [randn(10, 4), torch.tensor([[1, 7, 1], [0, 9, 7]])],
     lambda w, ids: F.embedding(ids, w))

# ------------------------------------------------------------------ losses (targets never get gradients)


def ce(ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    return {"ignore_index": ignore_index, "label_smoothing": label_smoothing, "reduction": reduction}


def ce_fn(a):
    return lambda x, t: F.cross_entropy(x, t, ignore_index=a["ignore_index"], label_smoothing=a["label_smoothing"],
                                        reduction=a["reduction"])


def with_ignored(t, positions, value):
    t = t.clone()
    t[list(positions)] = value
    return t


for name, a, make in [
    ("cross_entropy_mean", ce(), lambda: [randn(6, 5, scale=2.0), index(5, 6)]),
    ("cross_entropy_ignore", ce(), lambda: [randn(6, 5, scale=2.0), with_ignored(index(5, 6), (1, 4), -100)]),
    ("cross_entropy_ignore_class", ce(ignore_index=0), lambda: [randn(6, 4, scale=2.0), torch.tensor([0, 1, 3, 0, 2, 3])]),
    ("cross_entropy_smooth", ce(label_smoothing=0.1), lambda: [randn(6, 5, scale=2.0), index(5, 6)]),
    ("cross_entropy_smooth_ignore", ce(label_smoothing=0.1),
     lambda: [randn(6, 5, scale=2.0), with_ignored(index(5, 6), (2,), -100)]),
    ("cross_entropy_sum", ce(reduction="sum"), lambda: [randn(6, 5, scale=2.0), index(5, 6)]),
    ("cross_entropy_none", ce(reduction="none"), lambda: [randn(6, 5, scale=2.0), with_ignored(index(5, 6), (3,), -100)]),
]:
    case(name, "cross_entropy", a, make, ce_fn(a))


def logprobs(n, c):
    return f32(torch.log_softmax(torch.randn(n, c, dtype=F64) * 2.0, -1))


case("nll_loss_mean", "nll_loss", {"ignore_index": -100, "reduction": "mean"}, lambda: [logprobs(6, 5), index(5, 6)],
     lambda x, t: F.nll_loss(x, t))
case("nll_loss_ignore_sum", "nll_loss", {"ignore_index": -100, "reduction": "sum"},
     lambda: [logprobs(6, 5), with_ignored(index(5, 6), (0, 5), -100)], lambda x, t: F.nll_loss(x, t, reduction="sum"))
case("mse_loss_mean", "mse_loss", {"reduction": "mean"}, lambda: [randn(3, 4), randn(3, 4)], F.mse_loss, nograd=(1,))
case("mse_loss_sum", "mse_loss", {"reduction": "sum"}, lambda: [randn(3, 4), randn(3, 4)],
     lambda x, t: F.mse_loss(x, t, reduction="sum"), nograd=(1,))
case("mse_loss_none", "mse_loss", {"reduction": "none"}, lambda: [randn(3, 4), randn(3, 4)],
     lambda x, t: F.mse_loss(x, t, reduction="none"), nograd=(1,))


def l1_inputs():
    x = randn(3, 4)
    return [x, f32(x - away(3, 4))]  # |x - target| >= ~0.1: away from the kink


case("l1_loss_mean", "l1_loss", {"reduction": "mean"}, l1_inputs, F.l1_loss, nograd=(1,))
case("l1_loss_sum", "l1_loss", {"reduction": "sum"}, l1_inputs, lambda x, t: F.l1_loss(x, t, reduction="sum"),
     nograd=(1,))
case("bce_with_logits_mean", "binary_cross_entropy_with_logits", {"reduction": "mean"},
     lambda: [randn(3, 4, scale=2.0), mask01(3, 4)], F.binary_cross_entropy_with_logits, nograd=(1,))
case("bce_with_logits_soft_sum", "binary_cross_entropy_with_logits", {"reduction": "sum"},
     lambda: [randn(3, 4, scale=2.0), uniform(0.0, 1.0, 3, 4)],
     lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"), nograd=(1,))
# Logits near -115 and +100 (with the wrong label, so the loss is ~100): exp overflows float32 there, so only the stable max(x, 0) - x t + log(1 + exp(-|x|)) works.
case("bce_with_logits_none", "binary_cross_entropy_with_logits", {"reduction": "none"},
     lambda: [randn(2, 3, scale=8.0) + torch.tensor([[-110.0, 0, 0], [0, 0, 95.0]], dtype=F64), mask01(2, 3)],
     lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"), nograd=(1,))

# ------------------------------------------------------------------ normalization

case("layer_norm", "layer_norm", {"normalized_shape": [8], "eps": 1e-5},
     lambda: [randn(2, 3, 8, scale=2.0) + 0.5, f32(1.0 + 0.2 * torch.randn(8, dtype=F64)), randn(8, scale=0.2)],
     lambda x, w, b: F.layer_norm(x, [8], w, b, 1e-5))


def rms_norm(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


case("rms_norm", "rms_norm", {"eps": 1e-6}, lambda: [randn(2, 3, 8, scale=2.0), f32(1.0 + 0.2 * torch.randn(8, dtype=F64))],
     rms_norm)

# ------------------------------------------------------------------ attention (written out: torch 1.13 has no sdpa)


def sdpa(q, k, v, mask=None, causal=False):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        t_q, t_k = scores.shape[-2], scores.shape[-1]
        keep = torch.ones(t_q, t_k, dtype=torch.bool).tril(t_k - t_q)
        scores = scores.masked_fill(~keep, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    return torch.softmax(scores, -1) @ v


def attn_mask():
    m = mask01(5, 5, p=0.6)
    m.fill_diagonal_(1.0)  # every query keeps at least one key
    return m


case("sdpa_causal", "sdpa", {"causal": True}, lambda: [randn(2, 2, 5, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 4)],
     lambda q, k, v: sdpa(q, k, v, causal=True))
case("sdpa_mask", "sdpa", {"causal": False},
     lambda: [randn(2, 2, 5, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 4), attn_mask()],
     lambda q, k, v, m: sdpa(q, k, v, mask=m), nograd=(3,))

# ------------------------------------------------------------------ the 2-layer MLP loss


def mlp2(x, t, w1, b1, w2, b2):
    return F.cross_entropy(F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2), t)


case("mlp2", "mlp2", None,
     lambda: [randn(8, 20), index(5, 8), linear_weight(16, 20), uniform(-0.2, 0.2, 16), linear_weight(5, 16),
              uniform(-0.25, 0.25, 5)],
     mlp2, gout=1.0)


# ------------------------------------------------------------------ main


def sanity(name, named):
    for k, t in named.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise AssertionError(f"{k} has non-finite values")
    # Kinks: inputs of maximum/minimum must not tie (the split of the gradient would be a convention).
    if name.startswith(("maximum", "minimum")):
        a, b = named[f"{name}.in.0"].double(), named[f"{name}.in.1"].double()
        assert (a - b).abs().min() > 1e-3, f"{name}: inputs nearly tie"
    kinks = {"abs": (0.0,), "relu": (0.0,), "clamp": (-0.5, 0.5)}
    if name in kinks:
        x = named[f"{name}.in.0"].double()
        assert all((x - p).abs().min() > 0.02 for p in kinks[name]), f"{name}: input on a kink"
    if name.startswith("l1_loss"):
        x, t = named[f"{name}.in.0"].double(), named[f"{name}.in.1"].double()
        assert (x - t).abs().min() > 0.02, f"{name}: input equals target"


def main():
    tensors, metadata = {}, {}
    print(f"{'case':32} {'op':34} {'tensors':>7} {'elems':>6}")
    for name, op, args, make, fn, nograd, gout in CASES:
        named, meta = run(name, op, args, make, fn, nograd, gout)
        sanity(name, named)
        tensors.update(named)
        metadata[name] = meta
        print(f"{name:32} {op:34} {len(named):7} {sum(t.numel() for t in named.values()):6}")
    data = st.dumps(tensors, metadata)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)

    # Self-check: read the file back and compare every tensor bit for bit, and the metadata.
    back, back_meta = st.loads(OUT.read_bytes())
    assert back_meta == metadata, "metadata differs after reading back"
    assert back.keys() == tensors.keys(), "tensor names differ after reading back"
    for k, t in tensors.items():
        b = back[k]
        assert b.dtype == t.dtype and list(b.shape) == list(t.shape) and torch.equal(b, t), f"{k} differs after reading back"
    for name, meta in back_meta.items():
        json.loads(meta)
        assert f"{name}.out" in back or f"{name}.out.0" in back, name
    floats = sum(t.numel() for t in tensors.values() if t.dtype == torch.float32)
    longs = sum(t.numel() for t in tensors.values() if t.dtype == torch.int64)
    print(f"\n{len(CASES)} cases, {len(tensors)} tensors ({floats} float32 + {longs} int64 values), "
          f"{len(data)} bytes -> {OUT.relative_to(OUT.parents[5])}; read back OK")


if __name__ == "__main__":
    main()
