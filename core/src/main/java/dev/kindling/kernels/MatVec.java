package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products over a range of rows, on the calling thread: the pieces that batch-1 decoding splits over
 * a {@link Team} itself (each member its fixed share of every matrix). Weights are FLOAT32 arrays, read either as
 * W [n, k] (y = W x, a member takes a range of output rows) or as W [k, n] (y = x W, the layout of GPT-2's Conv1D:
 * a member takes a range of input rows and writes a partial y that the caller sums), or compressed rows in a memory
 * segment (bfloat16, int8, int4) decoded in registers by {@link WeightDot}. Four rows are in flight at a time.
 */
public final class MatVec {
    /**
     * FLOAT32 weights stream in vectors of at most 256 bits, even where 512-bit vectors are preferred: a float array
     * on the Java heap starts at any multiple of 8 bytes, so a 512-bit load straddles two cache lines in 7 arrays of
     * 8. From DRAM, one thread's dot products over GPT-2's 154 MB lm head ran at 27 GB/s with 512-bit loads (37 at the
     * one aligned start) and 32-34 GB/s with 256-bit loads at every start; the Conv1D matrices in axpy form 23 against
     * 27. The compute is far from the limit either way.
     */
    private static final VectorSpecies<Float> S = WeightDot.S.vectorBitSize() > 256 ? FloatVector.SPECIES_256 : WeightDot.S;
    private static final int VL = S.length();

    private MatVec() {}

    /**
     * y[yOff + r] = dot(W row r, x[xOff ..xOff + k)) for r in [r0, r1); W's rows are k floats, {@code ld} apart from
     * wOff.
     *
     * @throws IllegalArgumentException if the range or an operand does not fit its array
     */
    public static void dotRows(float[] w, int wOff, int ld, int k, float[] x, int xOff, float[] y, int yOff, int r0, int r1) {
        checkRange("dotRows", r0, r1, "y", y, yOff);
        if (r1 == r0) return;
        if (wOff + (long) (r1 - 1) * ld + k > w.length) fail("dotRows", "W", w, r1 + " rows of " + k + " floats, " + ld + " apart from " + wOff);
        if (xOff + (long) k > x.length) fail("dotRows", "x", x, k + " floats from " + xOff);
        // four rows a quarter of the range apart: four long sequential streams (see compressedRows)
        int q = (r1 - r0) / 4, bound = S.loopBound(k);
        for (int i = 0; i < q; i++) {
            int r = r0 + i, o0 = wOff + r * ld, o1 = o0 + q * ld, o2 = o1 + q * ld, o3 = o2 + q * ld;
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            int p = 0;
            for (; p < bound; p += VL) {
                FloatVector xp = FloatVector.fromArray(S, x, xOff + p);
                s0 = FloatVector.fromArray(S, w, o0 + p).fma(xp, s0);
                s1 = FloatVector.fromArray(S, w, o1 + p).fma(xp, s1);
                s2 = FloatVector.fromArray(S, w, o2 + p).fma(xp, s2);
                s3 = FloatVector.fromArray(S, w, o3 + p).fma(xp, s3);
            }
            float t0 = s0.reduceLanes(VectorOperators.ADD), t1 = s1.reduceLanes(VectorOperators.ADD);
            float t2 = s2.reduceLanes(VectorOperators.ADD), t3 = s3.reduceLanes(VectorOperators.ADD);
            for (; p < k; p++) {
                float xp = x[xOff + p];
                t0 += w[o0 + p] * xp; t1 += w[o1 + p] * xp; t2 += w[o2 + p] * xp; t3 += w[o3 + p] * xp;
            }
            y[yOff + r] = t0; y[yOff + r + q] = t1; y[yOff + r + 2 * q] = t2; y[yOff + r + 3 * q] = t3;
        }
        int r = r0 + 4 * q;
        for (; r < r1; r++) {
            int o = wOff + r * ld, p = 0;
            FloatVector s = FloatVector.zero(S);
            for (; p < bound; p += VL) s = FloatVector.fromArray(S, w, o + p).fma(FloatVector.fromArray(S, x, xOff + p), s);
            float t = s.reduceLanes(VectorOperators.ADD);
            for (; p < k; p++) t += w[o + p] * x[xOff + p];
            y[yOff + r] = t;
        }
    }

    /**
     * y[yOff + j] = sum over p in [p0, p1) of x[xOff + p] * W[p, j], for j in [0, n): W [k, n] read as rows of n
     * floats {@code ld} apart from wOff, y overwritten. A member that takes the input rows [p0, p1) streams one
     * contiguous block of W; the callers sum the members' partial y.
     *
     * @throws IllegalArgumentException if the range or an operand does not fit its array
     */
    public static void axpyRows(float[] w, int wOff, int ld, int n, float[] x, int xOff, int p0, int p1, float[] y, int yOff) {
        checkRange("axpyRows", p0, p1, "x", x, xOff);
        if (yOff + (long) n > y.length) fail("axpyRows", "y", y, n + " floats from " + yOff);
        java.util.Arrays.fill(y, yOff, yOff + n, 0f);
        if (p1 == p0) return;
        if (wOff + (long) (p1 - 1) * ld + n > w.length) fail("axpyRows", "W", w, p1 + " rows of " + n + " floats, " + ld + " apart from " + wOff);
        // four input rows a quarter of the range apart, as in dotRows: the member's block of W is then read as four
        // long sequential streams. Four adjacent rows (a few KB each) ran at 25 GB/s per core from DRAM, this at 32-35.
        int q = (p1 - p0) / 4, bound = S.loopBound(n);
        for (int i = 0; i < q; i++) {
            int p = p0 + i, o0 = wOff + p * ld, o1 = o0 + q * ld, o2 = o1 + q * ld, o3 = o2 + q * ld;
            float x0 = x[xOff + p], x1 = x[xOff + p + q], x2 = x[xOff + p + 2 * q], x3 = x[xOff + p + 3 * q];
            FloatVector v0 = FloatVector.broadcast(S, x0), v1 = FloatVector.broadcast(S, x1);
            FloatVector v2 = FloatVector.broadcast(S, x2), v3 = FloatVector.broadcast(S, x3);
            int j = 0;
            for (; j < bound; j += VL) {
                FloatVector acc = FloatVector.fromArray(S, y, yOff + j);
                acc = FloatVector.fromArray(S, w, o0 + j).fma(v0, acc);
                acc = FloatVector.fromArray(S, w, o1 + j).fma(v1, acc);
                acc = FloatVector.fromArray(S, w, o2 + j).fma(v2, acc);
                acc = FloatVector.fromArray(S, w, o3 + j).fma(v3, acc);
                acc.intoArray(y, yOff + j);
            }
            for (; j < n; j++) y[yOff + j] += w[o0 + j] * x0 + w[o1 + j] * x1 + w[o2 + j] * x2 + w[o3 + j] * x3;
        }
        for (int p = p0 + 4 * q; p < p1; p++) {
            int o = wOff + p * ld, j = 0;
            float xp = x[xOff + p];
            FloatVector v = FloatVector.broadcast(S, xp);
            for (; j < bound; j += VL) FloatVector.fromArray(S, w, o + j).fma(v, FloatVector.fromArray(S, y, yOff + j)).intoArray(y, yOff + j);
            for (; j < n; j++) y[yOff + j] += w[o + j] * xp;
        }
    }

    /**
     * y[yOff + r] = dot(W row r, x[xOff ..xOff + k)) for r in [r0, r1) over compressed rows: {@code bits} 8 or 4 in
     * the format of {@link Quantization} with {@code groupSize} (row r at byte wOff + r * rowBytes, its scales at
     * scales[scalesOff + r * groups]), or 16 for bfloat16 rows of k values from byte wOff (scales unused, may be null).
     *
     * @throws IllegalArgumentException if the format is invalid, or the range or an operand does not fit
     */
    public static void compressedRows(int bits, int groupSize, int k, float[] x, int xOff, MemorySegment w, long wOff,
                                      float[] scales, int scalesOff, float[] y, int yOff, int r0, int r1) {
        String op = "compressedRows";
        if (bits == 16) groupSize = Math.max(1, k);
        else Quantization.check(bits, groupSize, k);
        checkRange(op, r0, r1, "y", y, yOff);
        if (r1 == r0) return;
        if (xOff + (long) k > x.length) fail(op, "x", x, k + " floats from " + xOff);
        long rb = bits == 16 ? 2L * k : Quantization.rowBytes(bits, k);
        int groups = bits == 16 ? 0 : Quantization.groups(k, groupSize);
        if (w == null || wOff < 0 || wOff + r1 * rb > w.byteSize()) QuantizedGemm.checkSegment(op, w, wOff, r1 * rb, r1 + " rows of " + rb + " bytes");
        if (bits != 16 && (scales == null || scalesOff + (long) r1 * groups > scales.length))
            fail(op, "scales", scales, r1 + " rows of " + groups + " scales from " + scalesOff);
        // The four rows of each kernel call are a quarter of the range apart, not adjacent: each is then one long
        // sequential stream through W that the hardware prefetchers follow, where four adjacent rows of a few hundred
        // bytes each would be four streams too short to train them on.
        int q = (r1 - r0) / 4;
        if (q > 0) {
            switch (bits) {
                case 8 -> int8Rows(groupSize, k, x, xOff, w, wOff, rb, scales, scalesOff, groups, y, yOff, r0, q);
                case 4 -> int4Rows(groupSize, k, x, xOff, w, wOff, rb, scales, scalesOff, groups, y, yOff, r0, q);
                default -> bf16Rows(k, x, xOff, w, wOff, rb, y, yOff, r0, q);
            }
        }
        for (int r = r0 + 4 * q; r < r1; r++)
            WeightDot.rowDot(bits, x, xOff, k, groupSize, w, wOff + r * rb, scales, scalesOff + r * groups, y, yOff + r, 0f);
    }

    // One loop per format, each calling a single kernel: a loop shared by the formats (a switch inside it) had C2
    // inline every kernel the process had used into one method, and after a BF16 model had run, int8 rows streamed
    // at 10 GB/s per core instead of 17 (from DRAM, one thread; decoding benchmarks run the formats in one process).

    /** Rows r0 + i + t q (t = 0..3) for i in [0, q), four at a time: int8. */
    private static void int8Rows(int gs, int k, float[] x, int xOff, MemorySegment w, long wOff, long rb, float[] sc, int scOff,
                                 int groups, float[] y, int yOff, int r0, int q) {
        float[] four = FOUR.get();
        for (int i = 0; i < q; i++) {
            int r = r0 + i;
            WeightDot.int8x4(x, xOff, k, gs, w, wOff + r * rb, q * rb, sc, scOff + r * groups, q * groups, four);
            spread(four, y, yOff + r, q);
        }
    }

    /** {@link #int8Rows} for 4-bit rows. */
    private static void int4Rows(int gs, int k, float[] x, int xOff, MemorySegment w, long wOff, long rb, float[] sc, int scOff,
                                 int groups, float[] y, int yOff, int r0, int q) {
        float[] four = FOUR.get();
        boolean perBlock = gs == Quantization.INT4_BLOCK && k % Quantization.INT4_BLOCK == 0;
        // blocks of 32: the input is put in the lane order of Int4Lanes once, for all rows of the call
        float[][] lanes = Int4Lanes.fits(k, gs) ? Int4Lanes.prepare(x, xOff, k) : null;
        for (int i = 0; i < q; i++) {
            int r = r0 + i;
            long o = wOff + r * rb;
            if (lanes != null && Int4Lanes.scalesFit(sc.length, scOff + r * groups + 3L * q * groups, k))
                Int4Lanes.dot4(lanes[0], lanes[1], k, w, o, q * rb, sc, scOff + r * groups, q * groups, four);
            else if (perBlock) WeightDot.int4x4PerBlock(x, xOff, k, w, o, q * rb, sc, scOff + r * groups, q * groups, four);
            else WeightDot.int4x4(x, xOff, k, gs, w, o, q * rb, sc, scOff + r * groups, q * groups, four);
            spread(four, y, yOff + r, q);
        }
    }

    /** {@link #int8Rows} for bfloat16 rows. */
    private static void bf16Rows(int k, float[] x, int xOff, MemorySegment w, long wOff, long rb, float[] y, int yOff, int r0, int q) {
        float[] four = FOUR.get();
        for (int i = 0; i < q; i++) {
            int r = r0 + i;
            WeightDot.bf16x4(x, xOff, k, w, wOff + r * rb, q * rb, four);
            spread(four, y, yOff + r, q);
        }
    }

    /** y[at + t q] = four[t]: the four rows of a kernel call are a quarter of the range apart. */
    private static void spread(float[] four, float[] y, int at, int q) {
        y[at] = four[0]; y[at + q] = four[1]; y[at + 2 * q] = four[2]; y[at + 3 * q] = four[3];
    }

    /** Per-thread result buffer of the kernels: decoding calls them a hundred times per token on every member. */
    private static final ThreadLocal<float[]> FOUR = ThreadLocal.withInitial(() -> new float[4]);

    // the checks build their messages only on failure: these kernels run a hundred times per decoded token
    private static void checkRange(String op, int from, int to, String name, float[] a, int off) {
        if (from < 0 || to < from)
            throw new IllegalArgumentException(op + ": row range [" + from + ", " + to + ") is not a range of rows");
        if (a == null || off + (long) to > a.length) fail(op, name, a, to + " elements from " + off);
    }

    private static void fail(String op, String name, float[] a, String what) {
        throw new IllegalArgumentException(op + ": " + name + " needs " + what + " but the array has " + (a == null ? "none" : a.length));
    }
}
