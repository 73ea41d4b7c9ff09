package dev.kindling.bench;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.PackedMatrix;
import dev.kindling.kernels.Parallel;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

/**
 * One-thread CPU time per call of the GEMM shapes behind the erratic figures, from a fresh JVM: run it several
 * times and compare the spread. When C2 compiles a micro-kernel without the Vector API intrinsics (its vectors
 * boxed, {@code VectorSupport.ternaryOp} and friends run as Java), one run is 2-4x slower than the next, and
 * this prints it at once instead of after a whole model benchmark.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp core/target/classes:bench/target/classes \
 *     dev.kindling.bench.GemmJitRepro [ROUNDS]</pre>
 * Workloads: the MiniLM encoder's projections with pre-packed weights (32 x 128 tokens, k = 384/1536, as the
 * ONNX int8 and F32 paths run them: {@code sgemmPacked}), a 256^3 sgemm, and a small GPT's forward and backward
 * shapes ({@code sgemm} with transposes, the path with {@code kernelWideDirect}).
 */
public final class GemmJitRepro {
    private GemmJitRepro() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        Parallel.setThreads(1);
        var rnd = new SplittableRandom(7);
        // MiniLM: 4096 tokens, hidden 384, FFN 1536; the weights are packed once as the ONNX runner does
        int tokens = 32 * 128, h = 384, ff = 1536;
        float[] x = random(rnd, tokens * ff), y = new float[tokens * ff];
        PackedMatrix wq = pack(rnd, h, h), wUp = pack(rnd, h, ff), wDown = pack(rnd, ff, h);
        Runnable miniLm = () -> {
            Gemm.sgemmPacked(tokens, 1f, x, 0, h, wq, 0f, y, 0, h);
            Gemm.sgemmPacked(tokens, 1f, x, 0, h, wq, 1f, y, 0, h); // with a bias already in C (beta 1)
            Gemm.sgemmPacked(tokens, 1f, x, 0, h, wUp, 0f, y, 0, ff);
            Gemm.sgemmPacked(tokens, 1f, x, 0, ff, wDown, 1f, y, 0, h);
        };
        int n = 256;
        float[] a = random(rnd, n * n), b = random(rnd, n * n), c = new float[n * n];
        Runnable square = () -> Gemm.sgemm(false, true, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
        // a small GPT (batch 16 x 64 tokens, d = 128, MLP 512): forward, input gradient, weight gradient
        int rows = 16 * 64, d = 128, dm = 512;
        float[] g = random(rnd, rows * dm), w = random(rnd, dm * d), gw = new float[dm * d], o = new float[rows * dm];
        Runnable gpt = () -> {
            Gemm.sgemm(false, true, rows, dm, d, 1f, g, 0, d, w, 0, d, 0f, o, 0, dm);
            Gemm.sgemm(false, false, rows, d, dm, 1f, g, 0, dm, w, 0, d, 0f, o, 0, d);
            Gemm.sgemm(true, false, dm, d, rows, 1f, g, 0, dm, x, 0, d, 1f, gw, 0, d);
        };
        String[] names = {"MiniLM projections 4096 x 384/1536 (packed)", "sgemm 256^3 (B^T)", "GPT 1024 x 128 x 512 fwd+bwd"};
        Runnable[] work = {miniLm, square, gpt};
        for (int i = 0; i < work.length; i++) System.out.printf("%-46s %8.2f ms CPU per call (median of %d)%n",
                names[i], cpuMedian(work[i], rounds), rounds);
    }

    private static PackedMatrix pack(SplittableRandom rnd, int k, int n) {
        return PackedMatrix.of(true, k, n, random(rnd, n * k), 0, k);
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }

    /**
     * Median thread CPU ms per call (the JIT's own threads are not counted) after a warm-up of at least two calls
     * and half a second of CPU: long enough for C2's first compile of a kernel on a loaded machine, so that a slow
     * figure means compiled code was lost (a deoptimization), not that it had not been made yet.
     */
    private static double cpuMedian(Runnable r, int rounds) {
        var bean = ManagementFactory.getThreadMXBean();
        long start = bean.getCurrentThreadCpuTime();
        for (int i = 0; i < 2 || bean.getCurrentThreadCpuTime() - start < 500_000_000L; i++) r.run();
        double[] ms = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = bean.getCurrentThreadCpuTime();
            r.run();
            ms[i] = (bean.getCurrentThreadCpuTime() - t0) / 1e6;
        }
        return TrainingSteps.median(ms);
    }
}
