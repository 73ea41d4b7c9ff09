"""Reference sgemm timings for MatmulSideBySide: numpy.matmul and torch.mm on float32 n x n matrices.

Prints one JSON line per (library, n): {"impl": "numpy", "n": 1024, "gflops": ..., "gflop_per_cpu_s": ...,
"ms": ..., "reps": ...}: gflops is the median over the repetitions of wall-clock speed, gflop_per_cpu_s the work done
per second of process CPU time over all of them (less sensitive to other processes on a shared machine).
Run it under ../shared/reference/run-tuned (see bench/README.md) so OpenBLAS and torch use their AVX-512 kernels.
"""
import argparse
import json
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--sizes", default="256,512,1024,2048,4096")
parser.add_argument("--reps", type=int, default=5, help="timed repetitions; the median is reported")
parser.add_argument("--min-rep-seconds", type=float, default=0.2, help="each repetition loops at least this long")
parser.add_argument("--impls", default="numpy,torch")
args = parser.parse_args()

# thread counts must be fixed before numpy/OpenBLAS and torch start their pools
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402

impls = args.impls.split(",")
if "torch" in impls:
    import torch  # noqa: E402
    torch.set_num_threads(args.threads)


def measure(fn, n):
    """Median GFLOP/s of fn() (one n x n x n product) over args.reps repetitions after a warmup."""
    flops = 2.0 * n * n * n
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < 1.0:  # warmup: pools, page faults, caches
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    inner = max(1, int(args.min_rep_seconds / per_call))
    rates = []
    cpu0 = time.process_time()
    for _ in range(args.reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        rates.append(flops * inner / (time.perf_counter() - t) / 1e9)
    per_cpu_second = flops * inner * args.reps / max(1e-9, time.process_time() - cpu0) / 1e9
    return statistics.median(rates), per_cpu_second, inner


rng = np.random.default_rng(1)
for n in (int(s) for s in args.sizes.split(",")):
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    for impl in impls:
        if impl == "numpy":
            fn = lambda: np.matmul(a, b, out=c)  # noqa: E731
        elif impl == "torch":
            ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
            fn = lambda: torch.mm(ta, tb, out=tc)  # noqa: E731
        else:
            sys.exit(f"sgemm.py: unknown impl '{impl}' (numpy or torch)")
        gflops, per_cpu_second, inner = measure(fn, n)
        print(json.dumps({"impl": impl, "n": n, "gflops": round(gflops, 2),
                          "gflop_per_cpu_s": round(per_cpu_second, 2),
                          "ms": round(2.0 * n ** 3 / gflops / 1e6, 3), "reps": args.reps, "inner": inner}), flush=True)
