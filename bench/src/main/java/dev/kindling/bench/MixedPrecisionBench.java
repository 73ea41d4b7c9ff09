package dev.kindling.bench;

import dev.kindling.kernels.Parallel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.GradScaler;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT training iterations in fp32, bf16 and fp16 autocast, each with and without activation checkpointing: ms per
 * iteration (forward, backward, clip, AdamW; fp16 with a GradScaler), median of reps with the configurations
 * interleaved round by round so that load from other jobs spreads over all of them; and the memory autograd holds
 * for backward: the live heap after forward and loss minus the live heap before (both after full GCs), which is
 * the peak of a step's activation memory without checkpointing.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp ... dev.kindling.bench.MixedPrecisionBench [baby|large] [iters] [reps] [threads] [only]</pre>
 * baby: nanoGPT's Shakespeare baby GPT (4 layers, 4 heads, 128 wide, block 64, batch 12, vocabulary 65);
 * large: 6 layers, 6 heads, 384 wide, block 256, batch 16.
 */
public final class MixedPrecisionBench {
    private MixedPrecisionBench() {}

    record Setup(String name, DType cast, boolean checkpoint) {}

    public static void main(String[] args) {
        String size = args.length > 0 ? args[0] : "baby";
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        if (args.length > 3) Parallel.setThreads(Integer.parseInt(args[3]));
        String only = args.length > 4 ? args[4] : null; // e.g. "bf16": that precision alone (for profiling)
        boolean large = size.equals("large");
        if (!large && !size.equals("baby")) throw new IllegalArgumentException("size must be baby or large, got " + size);
        int nLayer = large ? 6 : 4, nHead = large ? 6 : 4, nEmbd = large ? 384 : 128, block = large ? 256 : 64, batch = large ? 16 : 12;
        int vocab = 65;
        List<Setup> setups = new ArrayList<>();
        for (boolean ck : new boolean[] {false, true}) {
            setups.add(new Setup("fp32", null, ck));
            setups.add(new Setup("bf16", DType.BF16, ck));
            setups.add(new Setup("fp16", DType.F16, ck));
        }
        if (only != null) setups.removeIf(s -> !s.name().equals(only) || s.checkpoint());
        System.out.printf("GPT %dL/%dH/%d, block %d, batch %d, %d threads, load average %.1f%n", nLayer, nHead, nEmbd, block, batch,
                Parallel.threads(), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        List<Runnable> steps = new ArrayList<>();
        long[] held = new long[setups.size()];
        for (int s = 0; s < setups.size(); s++) {
            Setup setup = setups.get(s);
            var g = new Generator(1);
            var model = new Gpt(new GptConfig(vocab, block, nLayer, nHead, nEmbd, 0, true), g).checkpointActivations(setup.checkpoint);
            List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
            for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
            var opt = new AdamW(List.of(new ParamGroup(decay, 1e-3, 0.1), new ParamGroup(noDecay, 1e-3, 0)), 0.9, 0.99, 1e-8);
            var scaler = new GradScaler(65536, 2, 0.5, 2000, setup.cast == DType.F16);
            Tensor x = Tensor.randint(g, 0, vocab, batch, block), y = Tensor.randint(g, 0, vocab, batch, block);
            java.util.function.Supplier<Tensor> forward = () -> {
                try (var ac = setup.cast == null ? Autocast.disabled() : Autocast.enable(setup.cast)) {
                    return Functional.crossEntropy(model.forward(x).reshape(-1, vocab), y.reshape(-1));
                }
            };
            Runnable step = () -> {
                scaler.scale(forward.get()).backward();
                scaler.unscale(opt);
                GradClip.clipGradNorm(model.parameters(), 1.0);
                scaler.step(opt);
                scaler.update();
                opt.zeroGrad();
            };
            step.run(); // optimizer state exists from here on, so it counts in the baseline
            long before = liveHeap();
            Tensor loss = forward.get();
            held[s] = liveHeap() - before;
            loss.backward();
            opt.zeroGrad();
            steps.add(step);
        }
        long warmupEnd = System.nanoTime() + (large ? 20_000_000_000L : 10_000_000_000L);
        for (int round = 0; round < 10 || System.nanoTime() < warmupEnd; round++) for (Runnable r : steps) r.run();
        double[][] ms = new double[setups.size()][reps];
        for (int r = 0; r < reps; r++)
            for (int s = 0; s < setups.size(); s++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) steps.get(s).run();
                ms[s][r] = (System.nanoTime() - t0) / 1e6 / iters;
            }
        double base = TrainingSteps.median(ms[0]);
        System.out.println("| precision | activation checkpointing | ms/iter (median) | vs fp32 | memory held for backward (MiB) |");
        System.out.println("|---|---|---:|---:|---:|");
        for (int s = 0; s < setups.size(); s++) {
            Setup setup = setups.get(s);
            double m = TrainingSteps.median(ms[s]);
            System.out.printf("| %s | %s | %.1f | %.2fx | %.1f |%n", setup.name, setup.checkpoint ? "yes" : "no", m, base / m, held[s] / 1048576.0);
        }
        System.out.printf("load average at the end %.1f%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static long liveHeap() {
        var mem = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) System.gc();
        return mem.getHeapMemoryUsage().getUsed();
    }
}
