package dev.kindling.bench;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
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
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code bench/run decode}: batch-1 decoding of a GPT-2-small-shaped model (12 layers, 768 wide, 12 heads, vocab
 * 50257, random weights) in FP32, BF16, int8 and int4, next to PyTorch (FP32, hand-written KV cache,
 * bench/reference/gpt_decode.py) and next to the memory-bandwidth bound: weight bytes read per token divided by
 * the bandwidth of a STREAM triad measured in the same run. Each round measures the triad, every precision and
 * the reference; the table has medians over rounds.
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
            double[] triad = new double[rounds], torchPrefill = new double[rounds], torchDecode = new double[rounds];
            long[] bytes = new long[p];
            for (int r = 0; r < rounds; r++) {
                triad[r] = triadBytesPerSecond(threads);
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
                System.err.printf("round %d: triad %.1f GB/s, PyTorch prefill %.0f, decode %.1f tok/s%n", r, triad[r] / 1e9,
                        torchPrefill[r], torchDecode[r]);
            }
            double bw = TrainingSteps.median(triad), tDecode = TrainingSteps.median(torchDecode);
            System.out.printf("%nTriad bandwidth (median of %d rounds, %d threads): %.1f GB/s. PyTorch FP32: prefill %.0f tokens/s, decode %.1f tokens/s.%n%n",
                    rounds, threads, bw / 1e9, TrainingSteps.median(torchPrefill), tDecode);
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

    /**
     * {prefill tokens/s, decode tokens/s, prefill and decode CPU ms per token of the calling thread}: a 128-token
     * prompt, then 32 greedy tokens through the cache; best of reps after warm-up. With {@code --threads 1} every
     * kernel runs on the calling thread, so its CPU time is the whole work: the figure to compare builds by on a
     * shared machine, where wall-clock rates depend on the other jobs.
     */
    static double[] measure(Gpt model, int warmups) {
        double bestPrefill = 0, bestDecode = 0, cpuPrefill = Double.MAX_VALUE, cpuDecode = Double.MAX_VALUE;
        var cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        var g = new Generator(2);
        try (var noGrad = Grad.disabled()) {
            for (int rep = 0; rep < warmups + 2; rep++) {
                Tensor prompt = Tensor.randint(g, 0, GPT2_SMALL.vocabSize(), 1, PROMPT);
                var cache = new KVCache(GPT2_SMALL, 1, PROMPT + NEW_TOKENS);
                long c0 = cpu.getCurrentThreadCpuTime(), t0 = System.nanoTime();
                Tensor logits = model.forward(prompt, cache);
                long c1 = cpu.getCurrentThreadCpuTime(), t1 = System.nanoTime();
                int next = argmaxLast(logits);
                for (int i = 0; i < NEW_TOKENS; i++) next = argmaxLast(model.forward(Tensor.wrapLongs(new long[] {next}, 1, 1), cache));
                long c2 = cpu.getCurrentThreadCpuTime(), t2 = System.nanoTime();
                if (rep >= warmups) {
                    bestPrefill = Math.max(bestPrefill, PROMPT / ((t1 - t0) / 1e9));
                    bestDecode = Math.max(bestDecode, NEW_TOKENS / ((t2 - t1) / 1e9));
                    cpuPrefill = Math.min(cpuPrefill, (c1 - c0) / 1e6 / PROMPT);
                    cpuDecode = Math.min(cpuDecode, (c2 - c1) / 1e6 / NEW_TOKENS);
                }
            }
        }
        return new double[] {bestPrefill, bestDecode, cpuPrefill, cpuDecode};
    }

    private static int argmaxLast(Tensor logits) {
        int v = logits.size(2), t = logits.size(1);
        float[] l = logits.select(1, t - 1).contiguous().toFloatArray();
        int best = 0;
        for (int i = 1; i < v; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * STREAM's triad a = b + s * c over three 80 MB arrays on the kernel pool, counted as STREAM counts it (12 bytes
     * per element: two reads and a write); best of 10 passes.
     */
    static double triadBytesPerSecond(int threads) {
        int n = 20 << 20;
        float[] a = new float[n], b = new float[n], c = new float[n];
        java.util.Arrays.fill(b, 1f);
        java.util.Arrays.fill(c, 2f);
        double best = 0;
        for (int rep = 0; rep < 10; rep++) {
            long t0 = System.nanoTime();
            Parallel.forChunks(n, threads, (from, to) -> {
                FloatVector s = FloatVector.broadcast(S, 3f);
                int i = from;
                for (int bound = from + S.loopBound(to - from); i < bound; i += S.length())
                    FloatVector.fromArray(S, c, i).fma(s, FloatVector.fromArray(S, b, i)).intoArray(a, i);
                for (; i < to; i++) a[i] = b[i] + 3f * c[i];
            });
            best = Math.max(best, 12.0 * n / ((System.nanoTime() - t0) / 1e9));
        }
        if (a[n / 2] != 7f) throw new IllegalStateException("triad: wrong result " + a[n / 2]);
        return best;
    }
}
