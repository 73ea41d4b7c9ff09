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
 * partial outputs summed after a barrier), and the compressed formats once more through copies of their weights
 * that exceed the cache (the decoder's rate from DRAM).
 * <pre>java -cp ... dev.kindling.bench.MatVecBench [threads]</pre>
 */
public final class MatVecBench {
    /** Bytes of weight copies the DRAM rows cycle through: four times a 32 MB last-level cache, as {@link Bandwidth}'s arrays. */
    private static final long OUT_OF_CACHE = 128L << 20;

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
                // the same calls cycling through copies of the compressed weights that together exceed the last-level
                // cache four times over: the rate from DRAM (the lm head alone, 24 MB in int4, still fits a 32 MB cache)
                double[] dram = new double[3];
                MemorySegment[] formats = {bf, codes[0], codes[1]};
                try (Arena copies = Arena.ofShared()) {
                    for (int f = 0; f < 3; f++) {
                        int count = (int) Math.max(1, (OUT_OF_CACHE + formats[f].byteSize() - 1) / formats[f].byteSize());
                        MemorySegment[] copy = new MemorySegment[count];
                        for (int c = 0; c < count; c++) copy[c] = copies.allocate(formats[f].byteSize(), 64).copyFrom(formats[f]);
                        int b = f == 0 ? 16 : bits[f - 1], gs = f == 0 ? 0 : groups[f - 1];
                        float[][] sc = new float[count][]; // the scales cycle too: a fifth of int4's bytes
                        for (int c = 0; c < count; c++) sc[c] = f == 0 ? null : scales[f - 1].clone();
                        int[] next = {0};
                        dram[f] = rate(formats[f].byteSize() + (f == 0 ? 0 : 4L * sc[0].length), () -> {
                            int c = next[0]++ % count;
                            MemorySegment wc = copy[c];
                            float[] sw = sc[c];
                            team.run(m -> MatVec.compressedRows(b, gs, k, x, 0, wc, 0, sw, 0, y, 0, m.from(n, 4), m.to(n, 4)));
                        });
                    }
                }
                System.out.printf("| %d x %d | - | - | %.1f | %.1f | %.1f | decoder (team), from DRAM |%n", n, k, dram[0], dram[1], dram[2]);
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
