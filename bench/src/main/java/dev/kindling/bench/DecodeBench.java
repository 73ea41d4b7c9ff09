package dev.kindling.bench;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.models.AutoModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.models.KVCache;
import dev.kindling.models.ModelQuantizer;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code bench/run decode}: batch-1 decoding of a GPT-2-small-shaped model (12 layers, 768 wide, 12 heads, vocab
 * 50257, random weights) in FP32, BF16, int8 and int4, next to PyTorch (FP32, hand-written KV cache,
 * bench/reference/gpt_decode.py) and next to the memory-bandwidth bound: weight bytes read per token divided by
 * the bandwidth of a STREAM triad ({@link Bandwidth}) measured in the same run, before every round and after the
 * last. The bound uses the best triad pass of the run (STREAM's figure: what the machine can do); the spread of the
 * passes and a read-only bandwidth are printed next to it. Each round measures every precision and the reference;
 * the table has medians over rounds.
 */
final class DecodeBench {
    static final GptConfig GPT2_SMALL = new GptConfig(50257, 1024, 12, 12, 768, 0.0, true);
    static final int PROMPT = 128, NEW_TOKENS = 32;

    private DecodeBench() {}

    private record Precision(String name, Path dir, DType dtype) {}

    static void run(int rounds, int threads) throws Exception {
        Path tmp = Files.createTempDirectory("kindling-decode");
        try {
            Path fp32 = tmp.resolve("fp32");
            Files.createDirectories(fp32);
            {
                Gpt model = new Gpt(GPT2_SMALL, new Generator(1));
                StateDicts.save(fp32.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
                Files.writeString(fp32.resolve("config.json"), Json.write(GPT2_SMALL.toHuggingFace()));
            }
            ModelQuantizer.quantize(fp32, tmp.resolve("int8"), 8, 0);
            ModelQuantizer.quantize(fp32, tmp.resolve("int4"), 4, 32);
            List<Precision> precisions = List.of(new Precision("FP32", fp32, DType.FLOAT32), new Precision("BF16", fp32, DType.BF16),
                    new Precision("int8 (per row)", tmp.resolve("int8"), DType.FLOAT32),
                    new Precision("int4 (groups of 32)", tmp.resolve("int4"), DType.FLOAT32));
            int p = precisions.size();
            double[][] prefill = new double[p][rounds], decode = new double[p][rounds], cpuPrefill = new double[p][rounds], cpuDecode = new double[p][rounds];
            Bandwidth memory = new Bandwidth();
            List<Bandwidth.Figure> triads = new ArrayList<>(), reads = new ArrayList<>();
            double[] torchPrefill = new double[rounds], torchDecode = new double[rounds];
            long[] bytes = new long[p];
            for (int r = 0; r < rounds; r++) {
                measureBandwidth(memory, triads, reads, "before round " + r);
                for (int i = 0; i < p; i++) {
                    Precision pr = precisions.get(i);
                    try (AutoModel auto = AutoModel.fromPretrained(pr.dir(), pr.dtype())) {
                        Gpt model = auto.as(Gpt.class);
                        bytes[i] = model.weightBytesPerToken();
                        double[] rates = measure(model, r == 0 ? 2 : 1);
                        prefill[i][r] = rates[0];
                        decode[i][r] = rates[1];
                        cpuPrefill[i][r] = rates[2];
                        cpuDecode[i][r] = rates[3];
                    }
                    System.err.printf("round %d %s: prefill %.0f tok/s, decode %.1f tok/s; calling thread's CPU: prefill %.2f ms/token, decode %.2f ms/token%n",
                            r, pr.name(), prefill[i][r], decode[i][r], cpuPrefill[i][r], cpuDecode[i][r]);
                }
                double[] torch = SideBySide.reference("gpt_decode.py", new String[] {"prefill_tokens_per_s", "decode_tokens_per_s"}, threads);
                torchPrefill[r] = torch[0];
                torchDecode[r] = torch[1];
                System.err.printf("round %d: PyTorch prefill %.0f, decode %.1f tok/s%n", r, torchPrefill[r], torchDecode[r]);
            }
            measureBandwidth(memory, triads, reads, "after the rounds");
            double bw = triads.stream().mapToDouble(Bandwidth.Figure::best).max().orElseThrow();
            double readBest = reads.stream().mapToDouble(Bandwidth.Figure::best).max().orElseThrow();
            double tDecode = TrainingSteps.median(torchDecode);
            System.out.printf("%nBandwidth, %d threads, %d measurements of %d passes over 128 MB arrays (before each round and after the last):%n",
                    threads, triads.size(), Bandwidth.PASSES);
            for (int i = 0; i < triads.size(); i++)
                System.out.printf("  triad %s; read %s%n", triads.get(i).gbs(), reads.get(i).gbs());
            System.out.printf("Bound: the best triad pass, %.1f GB/s (best read-only pass %.1f GB/s). PyTorch FP32: prefill %.0f tokens/s, decode %.1f tokens/s.%n%n",
                    bw / 1e9, readBest / 1e9, TrainingSteps.median(torchPrefill), tDecode);
            System.out.println("| precision | weight MB read per token | prefill 128 tokens (tokens/s) | decode (tokens/s) | bandwidth bound (tokens/s) | % of bound | decode vs PyTorch FP32 | CPU ms/token prefill / decode |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
            for (int i = 0; i < p; i++) {
                double d = TrainingSteps.median(decode[i]), bound = bw / bytes[i];
                System.out.printf("| %s | %.0f | %.0f | %.1f | %.1f | %.0f%% | %.2f | %.2f / %.2f |%n", precisions.get(i).name(), bytes[i] / 1e6,
                        TrainingSteps.median(prefill[i]), d, bound, 100 * d / bound, d / tDecode,
                        TrainingSteps.median(cpuPrefill[i]), TrainingSteps.median(cpuDecode[i]));
            }
        } finally {
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // a leftover temp folder is not worth failing the benchmark for
            }
        }
    }

    /** Least warm-up per model: C2 compiles the Vector API kernels in seconds (10-15 s under heavy load). */
    static final long WARMUP_NANOS = 5_000_000_000L;

    /**
     * {prefill tokens/s, decode tokens/s, prefill and decode CPU ms per token of the calling thread}: a 128-token
     * prompt, then 32 greedy tokens through the cache; best of 2 reps after warm-up ({@code warmups} reps and at
     * least {@link #WARMUP_NANOS}: a fast format's first reps take well under a second, and until C2 has compiled
     * the kernels they run the Vector API's Java fallback). With {@code --threads 1} every kernel runs on the
     * calling thread, so its CPU time is the whole work: the figure to compare builds by on a shared machine, where
     * wall-clock rates depend on the other jobs.
     */
    static double[] measure(Gpt model, int warmups) {
        double bestPrefill = 0, bestDecode = 0, cpuPrefill = Double.MAX_VALUE, cpuDecode = Double.MAX_VALUE;
        var cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        var g = new Generator(2);
        try (var noGrad = Grad.disabled()) {
            long start = System.nanoTime();
            for (int rep = 0, measured = 0; measured < 2; rep++) {
                boolean warm = rep >= warmups && System.nanoTime() - start >= WARMUP_NANOS;
                Tensor prompt = Tensor.randint(g, 0, GPT2_SMALL.vocabSize(), 1, PROMPT);
                var cache = new KVCache(GPT2_SMALL, 1, PROMPT + NEW_TOKENS);
                long c0 = cpu.getCurrentThreadCpuTime(), t0 = System.nanoTime();
                Tensor logits = model.nextTokenLogits(prompt, cache); // the head on the last position, as PyTorch's loop
                long c1 = cpu.getCurrentThreadCpuTime(), t1 = System.nanoTime();
                int next = argmax(logits);
                for (int i = 0; i < NEW_TOKENS; i++) next = argmax(model.nextTokenLogits(Tensor.wrapLongs(new long[] {next}, 1, 1), cache));
                long c2 = cpu.getCurrentThreadCpuTime(), t2 = System.nanoTime();
                if (warm) {
                    measured++;
                    bestPrefill = Math.max(bestPrefill, PROMPT / ((t1 - t0) / 1e9));
                    bestDecode = Math.max(bestDecode, NEW_TOKENS / ((t2 - t1) / 1e9));
                    cpuPrefill = Math.min(cpuPrefill, (c1 - c0) / 1e6 / PROMPT);
                    cpuDecode = Math.min(cpuDecode, (c2 - c1) / 1e6 / NEW_TOKENS);
                }
            }
        }
        return new double[] {bestPrefill, bestDecode, cpuPrefill, cpuDecode};
    }

    /** The most likely next token of logits [1, vocab]. */
    private static int argmax(Tensor logits) {
        int v = logits.size(1);
        float[] l = logits.toFloatArray();
        int best = 0;
        for (int i = 1; i < v; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    private static void measureBandwidth(Bandwidth memory, List<Bandwidth.Figure> triads, List<Bandwidth.Figure> reads, String when) {
        triads.add(memory.triad());
        reads.add(memory.read());
        System.err.printf("bandwidth %s: triad %s; read %s%n", when, triads.getLast().gbs(), reads.getLast().gbs());
    }
}
