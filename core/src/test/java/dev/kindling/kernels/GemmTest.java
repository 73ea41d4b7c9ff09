package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Gemm against its scalar twin GemmReference, on every vector width, transpose combination and code path. */
@ExtendWith(TwoKernelThreads.class)
class GemmTest {
    /** m, n, k: ones (matrix-vector path), sizes off the tile and vector widths, k = 0, and shapes that cross
     *  the KC, MC and NC block edges and the thread-split thresholds. */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 9, 17}, {13, 1, 7}, {1, 40, 3}, {37, 1, 33}, {2, 2, 1}, {3, 5, 0},
            {8, 32, 16}, {9, 33, 17}, {17, 15, 31}, {31, 70, 5}, {5, 130, 19}, {65, 65, 64},
            {70, 130, 40}, {260, 24, 9}, {7, 45, 1300}, {3, 1900, 5}, {150, 7, 70}, {9, 70, 380}, // k a little over KC: one deep slice
            {400, 60, 180}, {30, 1000, 150}, // above GemmKernel.PARALLEL_MIN_FMAS: split by rows, by columns
    };
    private static final float[][] ALPHA_BETA = {{1f, 0f}, {0.5f, 1f}, {-2f, 0.25f}, {0f, 3f}};

    @AfterEach
    void restore() {
        Gemm.setVectorBits(0);
    }

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 128, 256, 512})
    void matchesReferenceOnEveryShapeTransposeAndScale(int bits) {
        Gemm.setVectorBits(bits);
        if (bits != 0) assertEquals(bits, Gemm.vectorBits());
        var rnd = new SplittableRandom(bits + 1);
        int cases = 0;
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                float[] ab = ALPHA_BETA[(cases++) % ALPHA_BETA.length];
                check(rnd, t >= 2, (t & 1) == 1, s[0], s[1], s[2], ab[0], ab[1], rnd.nextInt(3), rnd.nextInt(4));
            }
        }
    }

    /**
     * Whole register tiles with beta != 0: the micro-kernel writes A B to a tile and {@code mergeFull} adds beta C
     * with one rounding, so the result is bit for bit fma(C, beta, A B) as when the kernels merged beta themselves.
     * k fits one slice; 12 x 128 is whole tiles on every width; both the packed and the in-place (direct) A paths.
     */
    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 128, 256, 512})
    void wholeTilesMergeBetaWithOneRounding(int bits) {
        Gemm.setVectorBits(bits);
        var rnd = new SplittableRandom(bits + 3);
        int m = 12, n = 128, k = 37;
        float[] a = random(rnd, m * k), b = random(rnd, n * k), c0 = random(rnd, m * n), product = new float[m * n];
        for (float alpha : new float[] {1f, 0.5f}) { // alpha 1: A read in place (512-bit); 0.5: packed
            Gemm.sgemm(false, true, m, n, k, alpha, a, 0, k, b, 0, k, 0f, product, 0, n);
            for (float beta : new float[] {1f, -0.375f}) {
                float[] c = c0.clone();
                Gemm.sgemm(false, true, m, n, k, alpha, a, 0, k, b, 0, k, beta, c, 0, n);
                for (int i = 0; i < c.length; i++)
                    if (Float.floatToRawIntBits(c[i]) != Float.floatToRawIntBits(Math.fma(c0[i], beta, product[i])))
                        fail("alpha " + alpha + " beta " + beta + " element " + i + ": " + c[i] + " != fma "
                                + Math.fma(c0[i], beta, product[i]));
            }
        }
    }

    /**
     * Unscaled, non-transposed A with whole column tiles: the full row panels are read in place, not packed. Rows not a
     * multiple of the tile, several k slices, padded rows and offsets, both layouts of B, on one and two threads.
     */
    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 256, 512})
    void unpackedRowMajorAMatchesReference(int bits) {
        Gemm.setVectorBits(bits);
        var rnd = new SplittableRandom(bits + 7);
        for (int[] s : new int[][] {{47, 128, 700}, {13, 192, 129}, {6, 64, 5}, {301, 256, 40}})
            for (boolean tB : new boolean[] {false, true})
                for (float beta : new float[] {0f, 1f})
                    check(rnd, false, tB, s[0], s[1], s[2], 1f, beta, rnd.nextInt(3), rnd.nextInt(4));
    }

    /**
     * A few rows times a large transposed B (a linear layer's forward) runs as C^T = B A^T: bit for bit what the
     * unswapped algorithm gives with the same B stored untransposed, with beta 0 (NaN in C ignored) and 1, offsets
     * and padded leading dimensions, several k slices; and matches the reference.
     */
    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 256, 512})
    void fewRowsTimesTransposedWeightSwapsBitForBit(int bits) {
        Gemm.setVectorBits(bits);
        var rnd = new SplittableRandom(bits + 11);
        for (int[] s : new int[][] {{64, 500, 784}, {128, 601, 2000}}) {
            int m = s[0], n = s[1], k = s[2], lda = k + 3, ldb = k + 1, ldc = n + 2, off = 5;
            if (GemmKernel.NV == 4) assertTrue(GemmKernel.swapPays(m, n, k), Arrays.toString(s)); // 4-vector tiles only
            float[] a = random(rnd, off + m * lda), w = random(rnd, off + n * ldb), wt = new float[k * n];
            for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) wt[p * n + j] = w[off + j * ldb + p];
            for (float beta : new float[] {0f, 1f}) {
                float[] c0 = random(rnd, off + m * ldc);
                if (beta == 0f) for (int i = 0; i < m; i++) Arrays.fill(c0, off + i * ldc, off + i * ldc + n, Float.NaN);
                float[] swapped = c0.clone(), plain = c0.clone(), expected = c0.clone();
                Gemm.sgemm(false, true, m, n, k, 1f, a, off, lda, w, off, ldb, beta, swapped, off, ldc);
                Gemm.sgemm(false, false, m, n, k, 1f, a, off, lda, wt, 0, n, beta, plain, off, ldc);
                GemmReference.sgemm(false, true, m, n, k, 1f, a, off, lda, w, off, ldb, beta, expected, off, ldc);
                for (int i = 0; i < swapped.length; i++)
                    if (Float.floatToRawIntBits(swapped[i]) != Float.floatToRawIntBits(plain[i]))
                        fail(Arrays.toString(s) + " beta " + beta + " element " + i + ": " + swapped[i] + " != " + plain[i]);
                assertClose(expected, swapped, k, "swapped " + Arrays.toString(s) + " beta " + beta);
            }
        }
    }

    @Test
    void betaZeroIgnoresNaNInC() {
        for (int[] s : new int[][] {{1, 20, 8}, {20, 1, 8}, {33, 40, 30}, {3, 4, 0}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = random(new SplittableRandom(3), m * k), b = random(new SplittableRandom(4), k * n);
            float[] c = new float[m * n];
            Arrays.fill(c, Float.NaN);
            Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
            for (float v : c) assertFalse(Float.isNaN(v), "NaN leaked from C with beta 0 at " + Arrays.toString(s));
        }
    }

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 128, 256, 512})
    void batchedMatchesReferenceWithBroadcastOperands(int bits) {
        Gemm.setVectorBits(bits);
        var rnd = new SplittableRandom(7);
        // {batch, m, n, k}: small problems (one per thread) and large ones (each split over the threads)
        for (int[] s : new int[][] {{1, 5, 6, 7}, {3, 9, 17, 5}, {8, 4, 33, 12}, {3, 70, 80, 60}, {5, 1, 30, 9}}) {
            int batch = s[0], m = s[1], n = s[2], k = s[3];
            for (int mode = 0; mode < 3; mode++) { // 0: all strided, 1: A broadcast, 2: B broadcast
                boolean tA = mode == 1, tB = mode != 0;
                int lda = (tA ? m : k) + 1, ldb = tB ? k : n, ldc = n + 2;
                long sa = mode == 1 ? 0 : (long) (tA ? k : m) * lda + 3;
                long sb = mode == 2 ? 0 : (long) (tB ? n : k) * ldb;
                long sc = (long) m * ldc + 1;
                int aOff = 2, bOff = 1, cOff = 4;
                float[] a = random(rnd, (int) (aOff + (batch - 1) * sa + (long) (tA ? k : m) * lda));
                float[] b = random(rnd, (int) (bOff + (batch - 1) * sb + (long) (tB ? n : k) * ldb));
                float[] c = random(rnd, (int) (cOff + (batch - 1) * sc + (long) m * ldc));
                float[] expected = c.clone();
                Gemm.sgemmBatched(batch, tA, tB, m, n, k, 1.5f, a, aOff, lda, sa, b, bOff, ldb, sb, 0.5f, c, cOff, ldc, sc);
                GemmReference.sgemmBatched(batch, tA, tB, m, n, k, 1.5f, a, aOff, lda, sa, b, bOff, ldb, sb, 0.5f,
                        expected, cOff, ldc, sc);
                assertClose(expected, c, k, "batched " + Arrays.toString(s) + " mode " + mode);
            }
        }
    }

    @Test
    void batchedLargeProblemsSplitInside() {
        // 3 problems on 2 threads, each big enough to be split over the threads rather than given one each
        int batch = 3, m = 200, n = 200, k = (int) (2 * GemmKernel.PARALLEL_MIN_FMAS / (200 * 200)) + 2;
        var rnd = new SplittableRandom(5);
        float[] a = random(rnd, batch * m * k), b = random(rnd, k * n), c = random(rnd, batch * m * n);
        float[] expected = c.clone();
        Gemm.sgemmBatched(batch, false, false, m, n, k, 1f, a, 0, k, (long) m * k, b, 0, n, 0, 1f, c, 0, n, (long) m * n);
        GemmReference.sgemmBatched(batch, false, false, m, n, k, 1f, a, 0, k, (long) m * k, b, 0, n, 0, 1f,
                expected, 0, n, (long) m * n);
        assertClose(expected, c, k, "batched large");
    }

    @Test
    void runsOnOneThread() {
        Parallel.setThreads(1);
        var rnd = new SplittableRandom(11);
        check(rnd, false, true, 70, 130, 40, 1f, 0f, 1, 1);
        check(rnd, true, false, 1, 300, 50, 1f, 1f, 0, 0);
    }

    @Test
    void rejectsBadArgumentsNamingTheValues() {
        float[] a = new float[12], b = new float[12], c = new float[12];
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 3, 4, 4, 1f, a, 0, 3, b, 0, 4, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("lda 3 < 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 3, 4, 4, 1f, a, 1, 4, b, 0, 4, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("A (stored 3 x 4, ld 4) at offset 1 spans [1, 13) but the array has 12"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, -1, 4, 4, 1f, a, 0, 4, b, 0, 4, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("m=-1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemmBatched(2, false, false, 2, 2, 2, 1f, a, 0, 2, 4, b, 0, 2, 0, 0f, c, 0, 2, 2));
        assertTrue(e.getMessage().contains("strideC 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Gemm.setVectorBits(64));
    }

    /** Runs one random case with offsets and padded leading dimensions, compared with GemmReference. */
    private static void check(SplittableRandom rnd, boolean tA, boolean tB, int m, int n, int k, float alpha,
                              float beta, int pad, int off) {
        int lda = Math.max(1, tA ? m : k) + pad, ldb = Math.max(1, tB ? k : n) + pad, ldc = n + pad;
        float[] a = random(rnd, off + (tA ? k : m) * lda), b = random(rnd, off + (tB ? n : k) * ldb);
        float[] c = random(rnd, off + m * ldc);
        float[] expected = c.clone();
        Gemm.sgemm(tA, tB, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c, off, ldc);
        GemmReference.sgemm(tA, tB, m, n, k, alpha, a, off, lda, b, off, ldb, beta, expected, off, ldc);
        assertClose(expected, c, k, String.format("m=%d n=%d k=%d transA=%b transB=%b alpha=%s beta=%s pad=%d off=%d",
                m, n, k, tA, tB, alpha, beta, pad, off));
    }

    /** Inputs are in [-1, 1), so k bounds each |sum|; float rounding grows at worst with k. Padding must be untouched. */
    private static void assertClose(float[] expected, float[] actual, int k, String what) {
        double tol = 1e-5 * Math.max(1, k);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol * Math.max(1, Math.abs(expected[i]))))
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
