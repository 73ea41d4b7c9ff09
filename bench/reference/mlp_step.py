"""PyTorch reference for the SimpleNN training step (784-500-10, ReLU, cross-entropy, Adam 1e-3).

Run under ../shared/reference/run-tuned: prints one JSON line per batch size with samples/s (median of reps).
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, nargs="+", default=[64, 256])
p.add_argument("--steps", type=int, default=300)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

class SimpleNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(784, 500)
        self.relu = nn.ReLU()
        self.layer2 = nn.Linear(500, 10)
    def forward(self, x):
        return self.layer2(self.relu(self.layer1(x)))

for b in a.batch:
    model = SimpleNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    x = torch.rand(b, 784)
    y = torch.randint(0, 10, (b,))
    def step():
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for _ in range(50):
        step()
    rates = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.steps * b / (time.perf_counter() - t0))
    print(json.dumps({"workload": "mlp_step", "impl": "pytorch", "batch": b, "samples_per_s": statistics.median(rates)}), flush=True)
