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
 * kernels behind batch-1 decoding, without the model around them. Each shape runs through the general entry points
 * (Gemm, QuantizedGemm: a fork/join task per call) and through the batch-1 decoder's path ({@link MatVec} on a
 * {@link Team} region: each member its share of rows, FP32 [k, n] by input rows with the partial outputs summed
 * after a barrier), first on one copy of the weights, which stays in the last-level cache for the first three shapes
 * (how fast a kernel computes), then cycling through copies of at least {@link #FROM_DRAM} bytes in all, four times a
 * 32 MB cache (how fast it streams from memory, as decoding does: a token reads 124-494 MB).
 * <pre>java -cp ... dev.kindling.bench.MatVecBench [threads]</pre>
 */
public final class MatVecBench {
    /** Bytes the copies of a matrix span in the "from DRAM" rows. */
    static final long FROM_DRAM = 128L << 20;

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
                MemorySegment bf = arena.allocate(2L * n * k, 64);
                for (int i = 0; i < n * k; i++) bf.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) (Float.floatToRawIntBits(w[i]) >>> 16));
                MemorySegment[] codes = new MemorySegment[2];
                float[][] scales = new float[2][];
                int[] bits = {8, 4}, groups = {k, 32};
                for (int q = 0; q < 2; q++) {
                    byte[] c = new byte[(int) (n * Quantization.rowBytes(bits[q], k))];
                    scales[q] = new float[n * Quantization.groups(k, groups[q])];
                    Quantization.quantize(bits[q], groups[q], w, 0, n, k, c, scales[q]);
                    codes[q] = arena.allocate(c.length, 64);
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
                System.out.printf("| %d x %d | %.1f | %.1f | %.1f | %.1f | %.1f | general, in cache if it fits |%n", n, k, f32t, f32, b16, qr[0], qr[1]);
                for (boolean dram : new boolean[] {false, true}) {
                    double[] r = decoder(n, k, w, x, y, bf, codes, scales, bits, groups, dram, arena);
                    System.out.printf("| %d x %d | %.1f | %.1f | %.1f | %.1f | %.1f | decoder (team), %s |%n", n, k, r[0], r[1], r[2], r[3], r[4],
                            dram ? "from DRAM" : "in cache if it fits");
                }
            }
        }
    }

    /**
     * GB/s of the decoder's path for one shape in the five formats (F32 [k, n], F32 [n, k], BF16, int8, int4): on the
     * given matrices, or with {@code dram} on copies of them spanning at least {@link #FROM_DRAM} bytes, one after
     * another.
     */
    private static double[] decoder(int n, int k, float[] w, float[] x, float[] y, MemorySegment bf, MemorySegment[] codes, float[][] scales,
                                    int[] bits, int[] groups, boolean dram, Arena arena) {
        Team team = Team.shared();
        float[][] partial = new float[team.size()][n];
        int cf = copies(dram, 4L * n * k), cb = copies(dram, bf.byteSize());
        float[][] ws = new float[cf][];
        ws[0] = w;
        for (int i = 1; i < cf; i++) ws[i] = w.clone();
        MemorySegment[] bfs = segments(bf, cb, arena);
        int[] next = new int[1];
        double[] r = new double[5];
        r[0] = rate(4L * n * k, () -> {
            float[] wi = ws[next[0]++ % cf];
            team.run(m -> {
                MatVec.axpyRows(wi, 0, n, n, x, 0, m.from(k, 4), m.to(k, 4), partial[m.index()], 0);
                m.barrier();
                for (int j = m.from(n, 4), to = m.to(n, 4); j < to; j++) {
                    float sum = 0f;
                    for (float[] p : partial) sum += p[j];
                    y[j] = sum;
                }
            });
        });
        r[1] = rate(4L * n * k, () -> {
            float[] wi = ws[next[0]++ % cf];
            team.run(m -> MatVec.dotRows(wi, 0, k, k, x, 0, y, 0, m.from(n, 4), m.to(n, 4)));
        });
        r[2] = rate(2L * n * k, () -> {
            MemorySegment b = bfs[next[0]++ % cb];
            team.run(m -> MatVec.compressedRows(16, 0, k, x, 0, b, 0, null, 0, y, 0, m.from(n, 4), m.to(n, 4)));
        });
        for (int q = 0; q < 2; q++) {
            int qq = q, c = copies(dram, codes[q].byteSize());
            MemorySegment[] cs = segments(codes[q], c, arena);
            r[3 + q] = rate(codes[q].byteSize() + 4L * scales[q].length, () -> {
                MemorySegment cq = cs[next[0]++ % c];
                team.run(m -> MatVec.compressedRows(bits[qq], groups[qq], k, x, 0, cq, 0, scales[qq], 0, y, 0, m.from(n, 4), m.to(n, 4)));
            });
        }
        return r;
    }

    private static int copies(boolean dram, long bytes) {
        return dram ? (int) Math.max(1, (FROM_DRAM + bytes - 1) / bytes) : 1;
    }

    /** {@code s} and copies - 1 copies of it (64-byte aligned, as the first one is). */
    private static MemorySegment[] segments(MemorySegment s, int copies, Arena arena) {
        MemorySegment[] out = new MemorySegment[copies];
        out[0] = s;
        for (int i = 1; i < copies; i++) out[i] = arena.allocate(s.byteSize(), 64).copyFrom(s);
        return out;
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
