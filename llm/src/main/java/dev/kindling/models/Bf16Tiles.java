package dev.kindling.models;

import dev.kindling.kernels.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * c = x W^T + beta * c for a bfloat16 weight W [n, k] read where it is mapped, for the few rows of a small batch
 * (a sentence of 16 tokens). Tiles of 6 input rows x 4 weight rows accumulate along k in vector lanes, so each
 * widened vector of W serves six rows and each vector of x four weight rows; the lanes are summed once per output.
 * The general bfloat16 GEMM widens all of W into float panels on every call, which for 16 rows cost more than the
 * multiply-adds (a batch-1 MiniLM forward took 9-12 ms of CPU against 3.7 ms with float weights).
 */
final class Bf16Tiles {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int VL = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * VL));
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MR = 6, NR = 4;

    private Bf16Tiles() {}

    /**
     * Output columns [lo, hi): c[cOff + r * ldc + j] = sum over p &lt; k of x[xOff + r * ldx + p] * W(j - w0, p) + beta *
     * c[...] for r &lt; m, where W(t, p) is the bfloat16 at byte {@code wOff + 2 * (t * ldw + p)} of w (little-endian).
     * beta 0 overwrites c without reading it. Splits the columns over the kernel threads when there is enough work.
     */
    static void matmul(int m, int k, float[] x, int xOff, int ldx, MemorySegment w, long wOff, int ldw, int w0, int lo, int hi,
                       float beta, float[] c, int cOff, int ldc) {
        int groups = (hi - lo + NR - 1) / NR;
        // a segment confined to this thread (a confined arena) cannot be read by the pool's threads
        long cost = Parallel.canShare(w) ? (long) m * k * NR / VL + 1 : 0;
        Parallel.forRange(groups, cost, (from, to) -> {
            int j0 = lo + from * NR, j1 = Math.min(hi, lo + to * NR);
            for (int i = 0; i < m; i += MR) {
                int rows = Math.min(MR, m - i);
                for (int j = j0; j < j1; j += NR) {
                    int cols = Math.min(NR, j1 - j);
                    long wo = wOff + 2L * (j - w0) * ldw;
                    if (rows > 1 && cols == NR) tile(rows, k, x, xOff + i * ldx, ldx, w, wo, 2L * ldw, beta, c, cOff + i * ldc + j, ldc);
                    else edge(rows, cols, k, x, xOff + i * ldx, ldx, w, wo, 2L * ldw, beta, c, cOff + i * ldc + j, ldc);
                }
            }
        });
    }

    /** W's bfloat16 values at byte {@code at} widened to floats: the 16 bits become the high half of the float. */
    private static FloatVector widen(MemorySegment w, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(H, w, at, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float widen(MemorySegment w, long row, int p) {
        return Float.intBitsToFloat((w.get(LE_SHORT, row + 2L * p) & 0xFFFF) << 16);
    }

    /**
     * The 6 x 4 tile: 24 accumulators, 4 widened W vectors and one x vector in registers. With fewer rows (the last
     * 4 of a 16-token sentence) the missing ones repeat the last row and are not stored: a few wasted lanes cost less
     * than a row-at-a-time path.
     */
    private static void tile(int rows, int k, float[] x, int xo, int ldx, MemorySegment w, long wo, long rb, float beta, float[] c,
                             int co, int ldc) {
        int x1 = xo + Math.min(1, rows - 1) * ldx, x2 = xo + Math.min(2, rows - 1) * ldx, x3 = xo + Math.min(3, rows - 1) * ldx;
        int x4 = xo + Math.min(4, rows - 1) * ldx, x5 = xo + Math.min(5, rows - 1) * ldx;
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        int p = 0;
        for (int bound = F.loopBound(k); p < bound; p += VL) {
            long at = wo + 2L * p;
            FloatVector w0 = widen(w, at), w1 = widen(w, at + rb), w2 = widen(w, at + 2 * rb), w3 = widen(w, at + 3 * rb);
            FloatVector a = FloatVector.fromArray(F, x, xo + p);
            c00 = a.fma(w0, c00); c01 = a.fma(w1, c01); c02 = a.fma(w2, c02); c03 = a.fma(w3, c03);
            a = FloatVector.fromArray(F, x, x1 + p);
            c10 = a.fma(w0, c10); c11 = a.fma(w1, c11); c12 = a.fma(w2, c12); c13 = a.fma(w3, c13);
            a = FloatVector.fromArray(F, x, x2 + p);
            c20 = a.fma(w0, c20); c21 = a.fma(w1, c21); c22 = a.fma(w2, c22); c23 = a.fma(w3, c23);
            a = FloatVector.fromArray(F, x, x3 + p);
            c30 = a.fma(w0, c30); c31 = a.fma(w1, c31); c32 = a.fma(w2, c32); c33 = a.fma(w3, c33);
            a = FloatVector.fromArray(F, x, x4 + p);
            c40 = a.fma(w0, c40); c41 = a.fma(w1, c41); c42 = a.fma(w2, c42); c43 = a.fma(w3, c43);
            a = FloatVector.fromArray(F, x, x5 + p);
            c50 = a.fma(w0, c50); c51 = a.fma(w1, c51); c52 = a.fma(w2, c52); c53 = a.fma(w3, c53);
        }
        // lanes summed here, not in a method taking the vector: a call C2 does not inline would box it
        put(c00.reduceLanes(VectorOperators.ADD), 0, 0, rows, p, k, x, xo, w, wo, rb, beta, c, co, ldc);
        put(c01.reduceLanes(VectorOperators.ADD), 0, 1, rows, p, k, x, xo, w, wo, rb, beta, c, co, ldc);
        put(c02.reduceLanes(VectorOperators.ADD), 0, 2, rows, p, k, x, xo, w, wo, rb, beta, c, co, ldc);
        put(c03.reduceLanes(VectorOperators.ADD), 0, 3, rows, p, k, x, xo, w, wo, rb, beta, c, co, ldc);
        put(c10.reduceLanes(VectorOperators.ADD), 1, 0, rows, p, k, x, x1, w, wo, rb, beta, c, co, ldc);
        put(c11.reduceLanes(VectorOperators.ADD), 1, 1, rows, p, k, x, x1, w, wo, rb, beta, c, co, ldc);
        put(c12.reduceLanes(VectorOperators.ADD), 1, 2, rows, p, k, x, x1, w, wo, rb, beta, c, co, ldc);
        put(c13.reduceLanes(VectorOperators.ADD), 1, 3, rows, p, k, x, x1, w, wo, rb, beta, c, co, ldc);
        put(c20.reduceLanes(VectorOperators.ADD), 2, 0, rows, p, k, x, x2, w, wo, rb, beta, c, co, ldc);
        put(c21.reduceLanes(VectorOperators.ADD), 2, 1, rows, p, k, x, x2, w, wo, rb, beta, c, co, ldc);
        put(c22.reduceLanes(VectorOperators.ADD), 2, 2, rows, p, k, x, x2, w, wo, rb, beta, c, co, ldc);
        put(c23.reduceLanes(VectorOperators.ADD), 2, 3, rows, p, k, x, x2, w, wo, rb, beta, c, co, ldc);
        put(c30.reduceLanes(VectorOperators.ADD), 3, 0, rows, p, k, x, x3, w, wo, rb, beta, c, co, ldc);
        put(c31.reduceLanes(VectorOperators.ADD), 3, 1, rows, p, k, x, x3, w, wo, rb, beta, c, co, ldc);
        put(c32.reduceLanes(VectorOperators.ADD), 3, 2, rows, p, k, x, x3, w, wo, rb, beta, c, co, ldc);
        put(c33.reduceLanes(VectorOperators.ADD), 3, 3, rows, p, k, x, x3, w, wo, rb, beta, c, co, ldc);
        put(c40.reduceLanes(VectorOperators.ADD), 4, 0, rows, p, k, x, x4, w, wo, rb, beta, c, co, ldc);
        put(c41.reduceLanes(VectorOperators.ADD), 4, 1, rows, p, k, x, x4, w, wo, rb, beta, c, co, ldc);
        put(c42.reduceLanes(VectorOperators.ADD), 4, 2, rows, p, k, x, x4, w, wo, rb, beta, c, co, ldc);
        put(c43.reduceLanes(VectorOperators.ADD), 4, 3, rows, p, k, x, x4, w, wo, rb, beta, c, co, ldc);
        put(c50.reduceLanes(VectorOperators.ADD), 5, 0, rows, p, k, x, x5, w, wo, rb, beta, c, co, ldc);
        put(c51.reduceLanes(VectorOperators.ADD), 5, 1, rows, p, k, x, x5, w, wo, rb, beta, c, co, ldc);
        put(c52.reduceLanes(VectorOperators.ADD), 5, 2, rows, p, k, x, x5, w, wo, rb, beta, c, co, ldc);
        put(c53.reduceLanes(VectorOperators.ADD), 5, 3, rows, p, k, x, x5, w, wo, rb, beta, c, co, ldc);
    }

    /** Output (i, j) of a tile from its lane sum s: the k tail from p on (x row at xr) added, stored with beta. */
    private static void put(float s, int i, int j, int rows, int p, int k, float[] x, int xr, MemorySegment w, long wo, long rb,
                            float beta, float[] c, int co, int ldc) {
        if (i >= rows) return;
        for (int q = p; q < k; q++) s += x[xr + q] * widen(w, wo + j * rb, q);
        int o = co + i * ldc + j;
        c[o] = beta == 0f ? s : s + beta * c[o];
    }

    /** A partial tile (one row, or fewer than 4 columns): one row by one weight row at a time. */
    private static void edge(int rows, int cols, int k, float[] x, int xo, int ldx, MemorySegment w, long wo, long rb, float beta,
                             float[] c, int co, int ldc) {
        int bound = F.loopBound(k);
        for (int j = 0; j < cols; j++) {
            long wr = wo + j * rb;
            for (int i = 0; i < rows; i++) {
                int xr = xo + i * ldx;
                FloatVector acc = FloatVector.zero(F);
                int p = 0;
                for (; p < bound; p += VL) acc = FloatVector.fromArray(F, x, xr + p).fma(widen(w, wr + 2L * p), acc);
                float s = acc.reduceLanes(VectorOperators.ADD);
                for (; p < k; p++) s += x[xr + p] * widen(w, wr, p);
                int o = co + i * ldc + j;
                c[o] = beta == 0f ? s : s + beta * c[o];
            }
        }
    }
}
