package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;

/**
 * y = x W^T with W in a compressed form, read in place: group-wise int8 or int4 ({@link Quantization}), or
 * bfloat16. For few input rows (decoding) weights are decoded inside the dot kernels ({@link WeightDot}), in
 * registers, right before they are multiplied, and the work is split over the {@link Parallel} pool by blocks of
 * four rows of W, so every thread streams its share of the weights once. For {@link #PANEL_MIN_ROWS} rows or more
 * (prompts, batches) a panel of W at a time is decoded into a small float buffer for the blocked {@link Gemm}; no
 * float copy of the whole matrix is made. {@link QuantizedReference} is the scalar twin.
 */
public final class QuantizedGemm {
    /** Rows of W per micro-kernel call. */
    private static final int ROWS = 4;
    /**
     * From this many input rows on, W is decoded in panels for the float GEMM ({@link #panels}); below, each input
     * row runs the dot kernels, which decode every weight once per input row.
     */
    static final int PANEL_MIN_ROWS = 8;
    /** Floats per decoded panel (512 KiB, in L2 while the GEMM packs it) and the multiple its row count is rounded to. */
    private static final int PANEL_FLOATS = 1 << 17, PANEL_ALIGN = 64;

    private QuantizedGemm() {}

    /**
     * C = A W^T + beta * C. A is m x k floats (row-major, lda &gt;= k); W is n x k in the {@code bits}-bit
     * format of {@link Quantization} with {@code groupSize}, its rows {@link Quantization#rowBytes} apart from
     * byte {@code wOff} of {@code w}, its scales n x {@link Quantization#groups} from {@code scales[scalesOff]};
     * C is m x n (ldc &gt;= n). beta 0 overwrites C without reading it.
     *
     * @throws IllegalArgumentException if the format is invalid, a size is negative, a leading dimension is too
     *     small, or an operand reaches outside its array or segment
     */
    public static void matmul(int bits, int groupSize, int m, int n, int k, float[] a, int aOff, int lda, MemorySegment w,
                              long wOff, float[] scales, int scalesOff, float beta, float[] c, int cOff, int ldc) {
        String op = "quantized matmul";
        checkSizes(op, m, n, k, a, aOff, lda, c, cOff, ldc);
        Quantization.check(bits, groupSize, k);
        if (m == 0 || n == 0) return;
        long rb = Quantization.rowBytes(bits, k);
        int groups = Quantization.groups(k, groupSize);
        checkSegment(op, w, wOff, n * rb, n + " rows of " + rb + " bytes");
        if (scales == null || scalesOff < 0 || scalesOff + (long) n * groups > scales.length)
            throw new IllegalArgumentException(op + ": scales need " + (long) n * groups + " floats from " + scalesOff + " but the array has "
                    + (scales == null ? "none" : scales.length));
        run(bits, groupSize, m, n, k, a, aOff, lda, w, wOff, rb, scales, scalesOff, groups, beta, c, cOff, ldc);
    }

    /**
     * {@link Gemm#sgemmBf16B}'s contract (C = A B^T + beta C, B n x k bfloat16 with rows ldb elements apart from
     * byte bOff), computed by the decode-as-you-go dot kernels: the fast path when A has few rows.
     */
    static void bf16(int m, int n, int k, float[] a, int aOff, int lda, MemorySegment b, long bOff, int ldb, float beta,
                     float[] c, int cOff, int ldc) {
        run(16, k, m, n, k, a, aOff, lda, b, bOff, 2L * ldb, null, 0, 0, beta, c, cOff, ldc);
    }

    private static void run(int bits, int gs, int m, int n, int k, float[] a, int aOff, int lda, MemorySegment w, long wOff,
                            long rb, float[] sc, int scOff, int groups, float beta, float[] c, int cOff, int ldc) {
        // a segment confined to this thread (a confined arena) cannot be read by the pool's threads
        boolean shared = Parallel.canShare(w);
        if (m >= PANEL_MIN_ROWS && k > 0) {
            panels(bits, gs, m, n, k, a, aOff, lda, w, wOff, rb, sc, scOff, groups, beta, c, cOff, ldc, shared);
            return;
        }
        int blocks = (n + ROWS - 1) / ROWS;
        boolean perBlock = gs == Quantization.INT4_BLOCK && k % Quantization.INT4_BLOCK == 0;
        long cost = shared ? ROWS * Math.max(rb, 1) * m / 4 : 0;
        Parallel.forRange(blocks, cost, (from, to) -> {
            float[] four = new float[4]; // the kernels overwrite it; beta is merged here
            // W block outside, input rows inside: a block of W is read from memory once and stays in L1 for all rows
            for (int blk = from; blk < to; blk++) {
                int j = blk * ROWS;
                long o = wOff + j * rb;
                int s = scOff + j * groups;
                if (j + ROWS <= n) {
                    for (int i = 0; i < m; i++) {
                        int xo = aOff + i * lda, co = cOff + i * ldc + j;
                        switch (bits) {
                            case 8 -> {
                                WeightDot.int8x4(a, xo, k, gs, w, o, rb, sc, s, groups, four);
                                merge(four, beta, c, co);
                            }
                            case 4 -> {
                                if (perBlock) WeightDot.int4x4PerBlock(a, xo, k, w, o, rb, sc, s, groups, four);
                                else WeightDot.int4x4(a, xo, k, gs, w, o, rb, sc, s, groups, four);
                                merge(four, beta, c, co);
                            }
                            default -> {
                                WeightDot.bf16x4(a, xo, k, w, o, rb, four);
                                merge(four, beta, c, co);
                            }
                        }
                    }
                } else {
                    for (int r = j; r < n; r++)
                        for (int i = 0; i < m; i++)
                            WeightDot.rowDot(bits, a, aOff + i * lda, k, gs, w, wOff + r * rb, sc, scOff + r * groups, c,
                                    cOff + i * ldc + r, beta);
                }
            }
        });
    }

    /** c[co + t] = four[t] + beta * c[co + t] for t = 0..3 (c is only read when beta is not 0: it may hold NaN). */
    private static void merge(float[] four, float beta, float[] c, int co) {
        for (int t = 0; t < 4; t++) c[co + t] = beta == 0f ? four[t] : four[t] + beta * c[co + t];
    }

    /**
     * Per-thread decoded panel, grown on demand: a batch-1 encoder layer makes a dozen of these calls per thread,
     * and a fresh 512 KiB panel for each was 17 MB of allocation per BF16 MiniLM sentence.
     */
    private static final ThreadLocal<float[][]> PANEL = ThreadLocal.withInitial(() -> new float[1][]);

    /**
     * Many input rows: W is decoded a panel of rows at a time into a float buffer and multiplied by the blocked
     * float GEMM, whose micro-kernel then does m multiply-adds per decoded weight. Only panels are ever in floats,
     * never the whole matrix. The threads split the panels: each decodes its own and runs the GEMM on it alone, so
     * a prompt costs one fork/join round trip instead of two per panel, and decoding runs on every thread.
     */
    private static void panels(int bits, int gs, int m, int n, int k, float[] a, int aOff, int lda, MemorySegment w, long wOff,
                               long rb, float[] sc, int scOff, int groups, float beta, float[] c, int cOff, int ldc, boolean shared) {
        int perThread = (n + Parallel.threads() - 1) / Parallel.threads();
        int rows = Math.min(n, Math.max(PANEL_ALIGN, Math.min(PANEL_FLOATS / k, perThread) / PANEL_ALIGN * PANEL_ALIGN));
        int count = (n + rows - 1) / rows;
        // a segment only the caller may read keeps the work on the caller (cost 0 runs it serially)
        Parallel.forRange(count, shared ? (long) m * rows * k : 0, (from, to) -> {
            float[][] holder = PANEL.get();
            if (holder[0] == null || holder[0].length < rows * k) holder[0] = new float[rows * k];
            float[] panel = holder[0];
            for (int p = from; p < to; p++) {
                int j0 = p * rows, nb = Math.min(rows, n - j0);
                for (int r = 0; r < nb; r++)
                    WeightDot.decodeRow(bits, k, gs, w, wOff + (long) (j0 + r) * rb, sc, scOff + (j0 + r) * groups, panel, r * k);
                // inside a pool task this GEMM runs on the calling thread (Parallel does not nest)
                Gemm.sgemm(false, true, m, nb, k, 1f, a, aOff, lda, panel, 0, k, beta, c, cOff + j0, ldc);
            }
        });
    }

    static void checkSizes(String op, int m, int n, int k, float[] a, int aOff, int lda, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException(op + ": sizes must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        if (m == 0 || n == 0) return;
        if (lda < Math.max(1, k)) throw new IllegalArgumentException(op + ": lda " + lda + " < k " + k);
        if (ldc < n) throw new IllegalArgumentException(op + ": ldc " + ldc + " < n " + n);
        long aEnd = aOff + (long) (m - 1) * lda + k, cEnd = cOff + (long) (m - 1) * ldc + n;
        if (a == null || aOff < 0 || aEnd > a.length)
            throw new IllegalArgumentException(op + ": A (" + m + " x " + k + ", lda " + lda + ") at " + aOff + " spans [" + aOff + ", " + aEnd
                    + ") but the array has " + (a == null ? "none" : a.length));
        if (c == null || cOff < 0 || cEnd > c.length)
            throw new IllegalArgumentException(op + ": C (" + m + " x " + n + ", ldc " + ldc + ") at " + cOff + " spans [" + cOff + ", " + cEnd
                    + ") but the array has " + (c == null ? "none" : c.length));
    }

    static void checkSegment(String op, MemorySegment w, long off, long bytes, String what) {
        if (w == null) throw new IllegalArgumentException(op + ": W is null but holds " + what);
        if (off < 0 || off + bytes > w.byteSize())
            throw new IllegalArgumentException(op + ": W (" + what + ") at byte " + off + " spans [" + off + ", " + (off + bytes)
                    + ") but the segment has " + w.byteSize() + " bytes");
    }
}
