#!/usr/bin/env python3
"""Generates llm/src/test/resources/golden/gpt_tiny.safetensors: model-level parity for Kindling's Gpt, as
llm.c's test_gpt2 does for its C model. A tiny GPT built here exactly like dev.kindling.models.Gpt (Hugging
Face GPT-2 names, Conv1D weights [in, out], pre-LayerNorm blocks, GELU tanh form, LayerNorm eps 1e-5, lm head
tied to wte) runs one forward and backward on a fixed batch, then 5 AdamW steps on that same batch.

Run with Debian's Python and PyTorch:  /usr/bin/python3 tools/golden/gpt_fixture.py

The reference runs in float64 from float32-representable weights, so logits, loss and gradients are exact up
to one float32 rounding. The same steps are also run in float32 and must agree with the float64 run within
the tolerances GptParityTest uses: that shows the tolerances are reachable by a float32 implementation (and
that no AdamW update hinges on the sign of a gradient that is zero up to rounding).

Tensors (see README.md): model.<name> (initial weights, Kindling names), ids and targets (I64 [2, 8]), logits
[2, 8, 11], loss [], grad.<name> (d loss / d weight at the initial weights), losses [5] (the loss computed at
each of the 5 AdamW steps, before that step's update; losses[0] == loss), after.<name> (the weights after the
5 steps; the key third of each c_attn.bias is not comparable, see comparable()). Metadata: "config" (GPT-2 config.json keys as GptConfig.fromHuggingFace reads them) and "optimizer"
(lr, betas, eps, weight_decay, steps).
"""
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "llm/src/test/resources/golden/gpt_tiny.safetensors"
CONFIG = {"vocab_size": 11, "n_positions": 8, "n_layer": 2, "n_head": 2, "n_embd": 8, "resid_pdrop": 0.0, "bias": True}
OPTIMIZER = {"lr": 1e-2, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.1, "steps": 5}
BATCH = 2
# The tolerances of GptParityTest: relative, each with an absolute floor (values near 0 have no useful relative error).
TOL = {"logits": (1e-5, 1e-6), "loss": (1e-5, 1e-6), "grad": (1e-4, 1e-6), "losses": (1e-4, 1e-6), "after": (1e-4, 1e-6)}


class Conv1D(nn.Module):
    """GPT-2's linear layer with the weight stored [in, out]: y = x W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_embd = c["n_head"], c["n_embd"]
        self.c_attn = Conv1D(self.n_embd, 3 * self.n_embd)
        self.c_proj = Conv1D(self.n_embd, self.n_embd)

    def forward(self, x):
        b, t, c = x.shape
        hs = c // self.n_head
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(b, t, self.n_head, hs).transpose(1, 2)
        v = v.view(b, t, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)  # (B, T, C)
        return self.c_proj(y)


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c["n_embd"], 4 * c["n_embd"])
        self.c_proj = Conv1D(4 * c["n_embd"], c["n_embd"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=1e-5)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=1e-5)
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
            wpe=nn.Embedding(c["n_positions"], c["n_embd"]),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
            ln_f=nn.LayerNorm(c["n_embd"], eps=1e-5)))

    def forward(self, ids):
        t = ids.shape[1]
        x = self.transformer.wte(ids) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x) @ self.transformer.wte.weight.t()  # tied lm head


def initial_weights(model):
    """float32 values for every parameter, larger than GPT-2's init so that every part of the model shapes the
    logits (with std 0.02 attention would be nearly uniform and the test blind to it). LayerNorm weights
    vary around 1 and all biases are non-zero, so their gradients are checked too."""
    w = {}
    for name, p in model.named_parameters():
        if name.endswith(("wte.weight", "wpe.weight")):
            v = torch.randn(p.shape) * 0.5
        elif ".ln_" in name or name.startswith("transformer.ln_f"):
            v = (1.0 if name.endswith("weight") else 0.0) + torch.randn(p.shape) * 0.1
        elif name.endswith("weight"):  # Conv1D [in, out]
            v = torch.randn(p.shape) / math.sqrt(p.shape[0])
        else:
            v = torch.randn(p.shape) * 0.1
        w[name] = v.to(torch.float32)
    return w


def run(weights, ids, targets, dtype):
    """Forward, backward and the AdamW steps in `dtype`; returns float32 results."""
    model = Gpt(CONFIG).to(dtype)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(weights[name].to(dtype))
    params = dict(model.named_parameters())
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIMIZER["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=OPTIMIZER["lr"], betas=tuple(OPTIMIZER["betas"]), eps=OPTIMIZER["eps"])
    out, losses = {}, []
    for step in range(OPTIMIZER["steps"]):
        opt.zero_grad()
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, CONFIG["vocab_size"]), targets.reshape(-1))
        loss.backward()
        if step == 0:
            out["logits"] = logits.detach()
            out["loss"] = loss.detach()
            for name, p in params.items():
                out["grad." + name] = p.grad.detach().clone()
        losses.append(loss.detach())
        opt.step()
    out["losses"] = torch.stack(losses)
    for name, p in params.items():
        out["after." + name] = p.detach().clone()
    return {k: v.to(torch.float32) for k, v in out.items()}


def comparable(name, t):
    """The part of a tensor that float32 can reproduce. The key third of c_attn.bias is not: adding a constant to
    every key shifts all of a query's scores equally, which softmax ignores, so its gradient is 0 and float
    rounding leaves noise (about 1e-19 in float64, 1e-9 in float32) of arbitrary sign. AdamW's first update is
    about lr * sign(grad), so after the steps those 8 values differ by up to 2 * lr * steps between any two
    implementations. They change neither logits nor losses, so only after.* skips them."""
    if name.startswith("after.") and name.endswith(".attn.c_attn.bias"):
        c = CONFIG["n_embd"]
        return torch.cat([t[:c], t[2 * c:]])
    return t


def worst(a, b, rtol, atol):
    """max |a - b| / (atol + rtol |b|): at most 1 means within tolerance."""
    return ((a.double() - b.double()).abs() / (atol + rtol * b.double().abs())).max().item()


def main():
    torch.manual_seed(20240611)
    model = Gpt(CONFIG)
    weights = initial_weights(model)
    seq = torch.randint(0, CONFIG["vocab_size"], (BATCH, CONFIG["n_positions"] + 1))
    ids, targets = seq[:, :-1].contiguous(), seq[:, 1:].contiguous()

    ref = run(weights, ids, targets, torch.float64)
    f32 = run(weights, ids, targets, torch.float32)
    print(f"{'tensor group':14} {'float32 vs float64 (1 = at tolerance)':>40}")
    for group, (rtol, atol) in TOL.items():
        keys = [k for k in ref if k == group or k.startswith(group + ".")]
        w = max(worst(comparable(k, f32[k]), comparable(k, ref[k]), rtol, atol) for k in keys)
        print(f"{group:14} {w:40.3f}")
        assert w <= 1, f"{group}: PyTorch float32 is {w:.2f}x the tolerance from float64; Kindling cannot be held to it"

    tensors = {"model." + k: v for k, v in weights.items()}
    tensors.update({"ids": ids, "targets": targets})
    tensors.update(ref)
    metadata = {"config": json.dumps(CONFIG, separators=(",", ":")),
                "optimizer": json.dumps(OPTIMIZER, separators=(",", ":"))}
    data = st.dumps(tensors, metadata)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)

    back, back_meta = st.loads(OUT.read_bytes())
    assert back_meta == metadata and back.keys() == tensors.keys(), "names or metadata differ after reading back"
    for k, t in tensors.items():
        assert back[k].dtype == t.dtype and torch.equal(back[k], t), f"{k} differs after reading back"
    print(f"loss {ref['loss'].item():.6f}, losses {[round(x, 6) for x in ref['losses'].tolist()]}")
    print(f"{len(weights)} parameters ({sum(v.numel() for v in weights.values())} values), {len(tensors)} tensors, "
          f"{len(data)} bytes -> {OUT.relative_to(OUT.parents[5])}; read back OK")


if __name__ == "__main__":
    main()
