"""PyTorch reference for one GPT training iteration (nanoGPT's architecture as Kindling's Gpt: pre-LN blocks,
GELU tanh form, tied lm head, fused AdamW-like step via torch.optim.AdamW), forward + backward + clip + step.

Run under ../shared/reference/run-tuned: prints one JSON line with ms/iter (median of reps).
"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--n-layer", type=int, default=4)
p.add_argument("--n-head", type=int, default=4)
p.add_argument("--n-embd", type=int, default=128)
p.add_argument("--block-size", type=int, default=64)
p.add_argument("--batch-size", type=int, default=12)
p.add_argument("--vocab", type=int, default=65)
p.add_argument("--iters", type=int, default=20)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--reps", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c); self.c_attn = nn.Linear(c, 3 * c); self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c); self.c_fc = nn.Linear(c, 4 * c); self.mlp_proj = nn.Linear(4 * c, c)
        self.register_buffer("mask", torch.tril(torch.ones(a.block_size, a.block_size)).view(1, 1, a.block_size, a.block_size))
    def attn(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(a.vocab, a.n_embd); self.wpe = nn.Embedding(a.block_size, a.n_embd)
        self.h = nn.ModuleList([Block(a.n_embd, a.n_head) for _ in range(a.n_layer)])
        self.ln_f = nn.LayerNorm(a.n_embd)
    def forward(self, idx, targets):
        pos = torch.arange(idx.size(1))
        x = self.wte(idx) + self.wpe(pos)
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

model = GPT()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
x = torch.randint(0, a.vocab, (a.batch_size, a.block_size))
y = torch.randint(0, a.vocab, (a.batch_size, a.block_size))
def step():
    loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
for _ in range(a.warmup):
    step()
times = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    for _ in range(a.iters):
        step()
    times.append((time.perf_counter() - t0) * 1000 / a.iters)
print(json.dumps({"workload": "gpt_step", "impl": "pytorch", "n_layer": a.n_layer, "n_embd": a.n_embd, "block_size": a.block_size,
                  "batch_size": a.batch_size, "ms_per_iter": statistics.median(times)}), flush=True)
