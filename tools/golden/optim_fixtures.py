#!/usr/bin/env python3
"""Writes core/src/test/resources/golden/optim.safetensors: what PyTorch's optimizers and LR schedulers do to a
fixed small parameter over 5 steps with fixed gradients, for dev.kindling.optim.OptimParityTest.

Tensors (all F32):
  param0          [2, 3]     the starting parameter
  grads           [5, 2, 3]  the gradient given at each step
  <case>          [5, 2, 3]  the parameter after steps 1..5
  <case>.lr       [5]        the learning rate each step used

The cases (the Java test builds the same optimizers; keep the two in step):
  sgd_momentum         SGD(lr=0.1, momentum=0.9)
  sgd_nesterov_wd      SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
  sgd_dampening_wd     SGD(lr=0.05, momentum=0.5, dampening=0.2, weight_decay=0.1)
  sgd_steplr           SGD(lr=0.1, momentum=0.9) with StepLR(step_size=2, gamma=0.5), stepped every step
  adam_wd              Adam(lr=0.01, weight_decay=0.1)
  adamw_wd             AdamW(lr=0.01, weight_decay=0.1)
  adam_steplr          Adam(lr=0.1) with StepLR(step_size=2, gamma=0.5)
  adamw_warmup_cosine  AdamW(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1) with LambdaLR of
                       Kindling's LRSchedule.warmupCosine(warmup=2, total=4, minFactor=0.1)

Debian ships PyTorch (python3-torch) but not the safetensors package, hence the small writer below (F32 only,
tensors sorted by name, header padded with spaces to a multiple of 8 as the reference writer does).

    python3 tools/golden/optim_fixtures.py     # regenerate the fixture
"""
import json
import math
import struct
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[2] / "core/src/test/resources/golden/optim.safetensors"
STEPS = 5

PARAM0 = [[0.5, -1.25, 2.0], [-0.75, 1.5, 0.25]]
GRADS = [
    [[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]],
    [[-0.3, 0.25, 0.05], [0.7, -0.1, 0.2]],
    [[1.5, -0.02, -0.4], [0.0, 0.3, -1.0]],
    [[-0.05, 0.6, 0.1], [-0.2, -0.8, 0.45]],
    [[0.2, 0.2, -0.9], [0.35, 0.0, 0.6]],
]


def warmup_cosine(warmup, total, min_factor):
    """Kindling's LRSchedule.warmupCosine, the multiplier of the initial lr at a 0-based step."""
    def f(step):
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if step >= total:
            return min_factor
        ratio = (step - warmup) / max(1, total - warmup)
        return min_factor + 0.5 * (1 + math.cos(math.pi * ratio)) * (1 - min_factor)
    return f


def cases():
    sgd, adam, adamw = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    step_lr = lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)
    return {
        "sgd_momentum": (lambda p: sgd(p, lr=0.1, momentum=0.9), None),
        "sgd_nesterov_wd": (lambda p: sgd(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), None),
        "sgd_dampening_wd": (lambda p: sgd(p, lr=0.05, momentum=0.5, dampening=0.2, weight_decay=0.1), None),
        "sgd_steplr": (lambda p: sgd(p, lr=0.1, momentum=0.9), step_lr),
        "adam_wd": (lambda p: adam(p, lr=0.01, weight_decay=0.1), None),
        "adamw_wd": (lambda p: adamw(p, lr=0.01, weight_decay=0.1), None),
        "adam_steplr": (lambda p: adam(p, lr=0.1), step_lr),
        "adamw_warmup_cosine": (lambda p: adamw(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                                lambda o: torch.optim.lr_scheduler.LambdaLR(o, warmup_cosine(2, 4, 0.1))),
    }


def run(make_opt, make_sched):
    p = torch.tensor(PARAM0, dtype=torch.float32, requires_grad=True)
    opt = make_opt([p])
    sched = make_sched(opt) if make_sched else None
    params, lrs = [], []
    for t in range(STEPS):
        p.grad = torch.tensor(GRADS[t], dtype=torch.float32)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched:
            sched.step()
        params.append(p.detach().clone())
    return torch.stack(params), torch.tensor(lrs, dtype=torch.float32)


def serialize(named, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(named):
        t = named[name].contiguous()
        assert t.dtype == torch.float32
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def main():
    torch.set_num_threads(1)
    named = {"param0": torch.tensor(PARAM0, dtype=torch.float32), "grads": torch.tensor(GRADS, dtype=torch.float32)}
    for name, (make_opt, make_sched) in cases().items():
        params, lrs = run(make_opt, make_sched)
        named[name] = params
        named[name + ".lr"] = lrs
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(serialize(named, {"torch": torch.__version__, "steps": str(STEPS)}))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
