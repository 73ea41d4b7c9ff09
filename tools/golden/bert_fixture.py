#!/usr/bin/env python3
"""Generates llm/src/test/resources/golden/tiny-bert/: a tiny BERT encoder in the Hugging Face folder layout
(config.json + model.safetensors) and the PyTorch reference for BertParityTest (reference.safetensors).

The architecture is written out here with Hugging Face's module names (BertModel: embeddings, encoder.layer.N
with attention.self.query/key/value, attention.output.dense/LayerNorm, intermediate.dense, output.dense/LayerNorm;
exact erf GELU; post-LayerNorm blocks; the attention mask added as (1 - mask) * finfo.min), because Debian ships
PyTorch but not the transformers package. The weights are saved as BertForMaskedLM saves them: with the "bert."
prefix, plus a pooler and an MLM bias that an encoder must ignore.

Run with Debian's Python and PyTorch:  /usr/bin/python3 tools/golden/bert_fixture.py

reference.safetensors: input_ids (I64 [3, 6]), attention_mask (I64 [3, 6], rows of 6, 4 and 1 real tokens,
padding on the right), token_type_ids (I64 [3, 6]), last_hidden_state (F32 [3, 6, 16]), computed in float64
from the float32 weights ("tolerance" metadata is the float32 run's largest deviation from it), and
last_hidden_state_bf16: the same with every matrix rounded to bfloat16 (biases and norms left float32).
"""
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "llm/src/test/resources/golden/tiny-bert"
CONFIG = {
    "architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 40, "hidden_size": 16,
    "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24, "hidden_act": "gelu",
    "max_position_embeddings": 12, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "pad_token_id": 0,
    "position_embedding_type": "absolute",
}


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads, self.size = c["num_attention_heads"], h // c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)

    def forward(self, x, additive_mask):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, self.heads, self.size).transpose(1, 2)  # (B, nh, T, hs)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.size) + additive_mask
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)


class DenseNorm(nn.Module):
    """BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual)."""

    def __init__(self, c, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c, c["hidden_size"])

    def forward(self, x, m):
        return self.output(self.self(x, m), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # exact (erf) GELU: hidden_act "gelu"


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c, c["intermediate_size"])

    def forward(self, x, m):
        a = self.attention(x, m)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def forward(self, ids, mask, types):
        additive = (1.0 - mask[:, None, None, :].to(self.embeddings.LayerNorm.weight.dtype))
        additive = additive * torch.finfo(additive.dtype).min  # (B, 1, 1, T), as HF's get_extended_attention_mask
        x = self.embeddings(ids, types)
        for layer in self.encoder.layer:
            x = layer(x, additive)
        return x


def main():
    torch.manual_seed(7)
    model = Bert(CONFIG)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # LayerNorm weights near 1 but not 1, so a swapped or missing weight shows
            p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith("LayerNorm.weight") else 0.3 * torch.randn_like(p))
    ids = torch.tensor([[2, 17, 5, 33, 9, 3], [2, 8, 31, 3, 0, 0], [2, 0, 0, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0]])
    types = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0]])

    expected = model.double()(ids, mask, types)
    got32 = model.float()(ids, mask, types)
    deviation = (got32.double() - expected).abs().max().item()
    state = {k: v.clone() for k, v in model.state_dict().items()}

    # The same model with every matrix (embedding tables, linear weights) rounded to bfloat16, as Kindling keeps
    # them in BF16; biases and LayerNorm parameters stay float32.
    rounded = Bert(CONFIG)
    rounded.load_state_dict({k: v.bfloat16().float() if v.dim() == 2 else v for k, v in state.items()})
    expected_bf16 = rounded.double()(ids, mask, types)

    weights = {"bert." + k: v.float() for k, v in state.items()}
    h = CONFIG["hidden_size"]
    weights["bert.pooler.dense.weight"] = 0.3 * torch.randn(h, h)  # heads an encoder must skip
    weights["bert.pooler.dense.bias"] = torch.zeros(h)
    weights["cls.predictions.bias"] = torch.zeros(CONFIG["vocab_size"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    (OUT / "model.safetensors").write_bytes(st.dumps(weights, {"format": "pt"}))
    reference = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
                 "last_hidden_state": expected.float(), "last_hidden_state_bf16": expected_bf16.float()}
    (OUT / "reference.safetensors").write_bytes(st.dumps(reference, {"tolerance": f"{deviation:.3e}"}))
    print(f"wrote {OUT}: float32 run deviates {deviation:.3e} from float64")


if __name__ == "__main__":
    main()
