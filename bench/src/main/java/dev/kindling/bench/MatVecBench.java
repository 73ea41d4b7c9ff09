package dev.kindling.bench;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.MatVec;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Quantization;
import dev.kindling.kernels.QuantizedGemm;
import dev.kindling.kernels.Team;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Matrix-vector products of GPT-2-small's weight shapes in every weight format, in GB/s of weights read: the
 * kernels behind batch-1 decoding, without the model around them. The first three shapes fit in the last-level
 * cache (compute-bound: how fast a kernel decodes), the lm head does not (memory-bound). Each shape runs through the
 * general entry points (Gemm, QuantizedGemm: a fork/join task per call) and through the batch-1 decoder's path
 * ({@link MatVec} on a {@link Team} region: each member its share of rows, FP32 [k, n] by input rows with the
 * partial outputs summed after a barrier).
 * <pre>java -cp ... dev.kindling.bench.MatVecBench [threads]</pre>
 */
public final class MatVecBench {
    private MatVecBench() {}

    public static void main(String[] args) {
        Parallel.setThreads(args.length > 0 ? Integer.parseInt(args[0]) : 2);
        int[][] shapes = {{2304, 768}, {3072, 768}, {768, 3072}, {50257, 768}}; // n (outputs) x k (inputs)
        var rnd = new SplittableRandom(1);
        System.out.println("| n x k | F32 [k, n] (Conv1D) | F32 [n, k] | BF16 | int8 | int4 g32 | (GB/s of weights, "
                + (Parallel.threads() == 1 ? "CPU time of 1 thread" : "wall clock, " + Parallel.threads() + " threads") + ") |");
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : shapes) {
                int n = s[0], k = s[1];
                float[] w = new float[n * k], x = new float[k], y = new float[n];
                for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
                for (int i = 0; i < k; i++) x[i] = (float) rnd.nextGaussian();
                MemorySegment bf = arena.allocate(2L * n * k);
                for (int i = 0; i < n * k; i++) bf.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) (Float.floatToRawIntBits(w[i]) >>> 16));
                MemorySegment[] codes = new MemorySegment[2];
                float[][] scales = new float[2][];
                int[] bits = {8, 4}, groups = {k, 32};
                for (int q = 0; q < 2; q++) {
                    byte[] c = new byte[(int) (n * Quantization.rowBytes(bits[q], k))];
                    scales[q] = new float[n * Quantization.groups(k, groups[q])];
                    Quantization.quantize(bits[q], groups[q], w, 0, n, k, c, scales[q]);
                    codes[q] = arena.allocate(c.length);
                    MemorySegment.copy(MemorySegment.ofArray(c), 0, codes[q], 0, c.length);
                }
                double f32t = rate(4L * n * k, () -> Gemm.sgemm(false, false, 1, n, k, 1f, x, 0, k, w, 0, n, 0f, y, 0, n));
                double f32 = rate(4L * n * k, () -> Gemm.sgemm(false, true, 1, n, k, 1f, x, 0, k, w, 0, k, 0f, y, 0, n));
                double b16 = rate(2L * n * k, () -> Gemm.sgemmBf16B(1, n, k, x, 0, k, bf, 0, k, 0f, y, 0, n));
                double[] qr = new double[2];
                for (int q = 0; q < 2; q++) {
                    int qq = q;
                    qr[q] = rate(codes[q].byteSize() + 4L * scales[q].length, () -> QuantizedGemm.matmul(bits[qq], groups[qq], 1, n, k, x, 0, k,
                            codes[qq], 0, scales[qq], 0, 0f, y, 0, n));
                }
                System.out.printf("| %d x %d | %.1f | %.1f | %.1f | %.1f | %.1f | general |%n", n, k, f32t, f32, b16, qr[0], qr[1]);
                Team team = Team.shared();
                float[][] partial = new float[team.size()][n];
                double tf32t = rate(4L * n * k, () -> team.run(m -> {
                    MatVec.axpyRows(w, 0, n, n, x, 0, m.from(k, 4), m.to(k, 4), partial[m.index()], 0);
                    m.barrier();
                    for (int j = m.from(n, 4), to = m.to(n, 4); j < to; j++) {
                        float sum = 0f;
                        for (float[] p : partial) sum += p[j];
                        y[j] = sum;
                    }
                }));
                double tf32 = rate(4L * n * k, () -> team.run(m -> MatVec.dotRows(w, 0, k, k, x, 0, y, 0, m.from(n, 4), m.to(n, 4))));
                double tb16 = rate(2L * n * k, () -> team.run(m -> MatVec.compressedRows(16, 0, k, x, 0, bf, 0, null, 0, y, 0, m.from(n, 4), m.to(n, 4))));
                double[] tq = new double[2];
                for (int q = 0; q < 2; q++) {
                    int qq = q;
                    tq[q] = rate(codes[q].byteSize() + 4L * scales[q].length, () -> team.run(m -> MatVec.compressedRows(bits[qq], groups[qq], k, x, 0,
                            codes[qq], 0, scales[qq], 0, y, 0, m.from(n, 4), m.to(n, 4))));
                }
                System.out.printf("| %d x %d | %.1f | %.1f | %.1f | %.1f | %.1f | decoder (team) |%n", n, k, tf32t, tf32, tb16, tq[0], tq[1]);
            }
        }
    }

    /**
     * GB/s: the best of 7 timings of enough calls to take about 0.2 s, after a warm-up. With one thread the time is
     * the calling thread's CPU time (all the work runs there), which other jobs on a shared machine disturb far less
     * than the wall clock.
     */
    private static double rate(long bytes, Runnable r) {
        int calls = (int) Math.max(3, Math.min(2000, 2e9 / bytes));
        for (int i = 0; i < calls * 3; i++) r.run();
        var cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        boolean oneThread = Parallel.threads() == 1;
        double best = 0;
        for (int rep = 0; rep < 7; rep++) {
            long t0 = oneThread ? cpu.getCurrentThreadCpuTime() : System.nanoTime();
            for (int i = 0; i < calls; i++) r.run();
            long t = (oneThread ? cpu.getCurrentThreadCpuTime() : System.nanoTime()) - t0;
            best = Math.max(best, bytes * (double) calls / t);
        }
        return best;
    }
}
