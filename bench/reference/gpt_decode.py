"""PyTorch reference for batch-1 GPT decoding: a GPT-2-small-shaped model (random weights) with a hand-written
KV cache, FP32. Prefill of a --prompt-token prompt, then --new-tokens greedy steps, each one token through the
cache. Run under ../shared/reference/run-tuned: prints one JSON line (the best of --reps after a warm-up round)."""
import argparse, json, math, statistics, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--n-layer", type=int, default=12)
p.add_argument("--n-head", type=int, default=12)
p.add_argument("--n-embd", type=int, default=768)
p.add_argument("--vocab", type=int, default=50257)
p.add_argument("--block-size", type=int, default=1024)
p.add_argument("--prompt-tokens", type=int, default=128)
p.add_argument("--new-tokens", type=int, default=32)
p.add_argument("--reps", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
C, H, L = a.n_embd, a.n_head, a.n_layer
hs = C // H


def w(*shape, std=0.02):
    return torch.randn(*shape) * std


wte, wpe = w(a.vocab, C), w(a.block_size, C)
layers = [dict(ln1=(torch.ones(C), torch.zeros(C)), attn=(w(C, 3 * C), torch.zeros(3 * C)), proj=(w(C, C), torch.zeros(C)),
               ln2=(torch.ones(C), torch.zeros(C)), fc=(w(C, 4 * C), torch.zeros(4 * C)), fc_proj=(w(4 * C, C), torch.zeros(C)))
          for _ in range(L)]
lnf = (torch.ones(C), torch.zeros(C))


def forward(ids, cache, past):
    """ids (1, T); cache[l] = (k, v) tensors (1, H, block, hs) filled up to past."""
    T = ids.size(1)
    x = wte[ids] + wpe[past:past + T]
    for l, p_ in enumerate(layers):
        h = F.layer_norm(x, (C,), *p_["ln1"])
        qkv = torch.addmm(p_["attn"][1], h.view(T, C), p_["attn"][0]).view(1, T, 3 * C)
        q, k, v = qkv.split(C, dim=2)
        q = q.view(1, T, H, hs).transpose(1, 2)
        kc, vc = cache[l]
        kc[:, :, past:past + T] = k.view(1, T, H, hs).transpose(1, 2)
        vc[:, :, past:past + T] = v.view(1, T, H, hs).transpose(1, 2)
        k, v = kc[:, :, :past + T], vc[:, :, :past + T]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        if T > 1:
            mask = torch.ones(T, past + T).tril(diagonal=past) == 0
            att = att.masked_fill(mask, float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(T, C)
        x = x + torch.addmm(p_["proj"][1], y, p_["proj"][0]).view(1, T, C)
        h = F.layer_norm(x, (C,), *p_["ln2"])
        f = F.gelu(torch.addmm(p_["fc"][1], h.view(T, C), p_["fc"][0]), approximate="tanh")
        x = x + torch.addmm(p_["fc_proj"][1], f, p_["fc_proj"][0]).view(1, T, C)
    x = F.layer_norm(x[:, -1], (C,), *lnf)
    return x @ wte.t()


prefill, decode = [], []
with torch.no_grad():
    for rep in range(a.reps + 1):
        cache = [(torch.zeros(1, H, a.block_size, hs), torch.zeros(1, H, a.block_size, hs)) for _ in range(L)]
        ids = torch.randint(0, a.vocab, (1, a.prompt_tokens))
        t0 = time.perf_counter()
        logits = forward(ids, cache, 0)
        t1 = time.perf_counter()
        past = a.prompt_tokens
        for _ in range(a.new_tokens):
            nxt = logits.argmax(-1).view(1, 1)
            logits = forward(nxt, cache, past)
            past += 1
        t2 = time.perf_counter()
        if rep > 0:  # the first round warms up
            prefill.append(a.prompt_tokens / (t1 - t0))
            decode.append(a.new_tokens / (t2 - t1))
# best of the reps, as the Kindling side reports it
print(json.dumps({"prefill_tokens_per_s": max(prefill), "decode_tokens_per_s": max(decode)}))
