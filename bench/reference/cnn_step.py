"""PyTorch reference for the small CNN training step on 3x32x32 inputs: conv3x3(3->32)-ReLU-conv3x3(32->64)-ReLU-
maxpool-conv3x3(64->128)-ReLU-maxpool-Linear(8192->256)-ReLU-Linear(256->10), cross-entropy, SGD lr 0.01
momentum 0.9 (Kindling's dev.kindling.models.SmallCnn and TrainingSteps.cnnImagesPerSecond).

Run under ../shared/reference/run-tuned: prints one JSON line per batch size with images/s (median of reps).
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, nargs="+", default=[64])
p.add_argument("--steps", type=int, default=20)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.fc1 = nn.Linear(8192, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


for b in a.batch:
    model = SmallCnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    x = torch.randn(b, 3, 32, 32)
    y = torch.randint(0, 10, (b,))

    def step():
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    rates = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.steps * b / (time.perf_counter() - t0))
    print(json.dumps({"workload": "cnn_step", "impl": "pytorch", "batch": b, "images_per_s": statistics.median(rates)}), flush=True)
