package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.io.Half;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Gemm.sgemmPacked on PackedMatrix against the scalar twin GemmReference, on every vector width. */
@ExtendWith(TwoKernelThreads.class)
class PackedGemmTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /**
     * m, n, k: a single row, sizes off the tile and the vector widths, k = 0, k across the KC slices (uneven last
     * slice), and shapes above the threading threshold split by rows (tall) and by columns (16 rows, wide).
     */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 9, 17}, {13, 1, 7}, {3, 5, 0}, {7, 33, 17}, {17, 70, 31}, {6, 64, 700}, {5, 130, 19},
            {400, 60, 180}, {16, 1000, 300},
            // whole 64-column panels: full tiles read A in place, the partial last row panel (and a deep k) packed
            {13, 128, 37}, {20, 192, 700}, {404, 256, 50}, {13, 128, 380}, // k a little over KC: one deep slice
    };

    @AfterEach
    void restore() {
        Gemm.setVectorBits(0);
    }

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 128, 256, 512})
    void matchesReferenceOnEveryShapeAndLayout(int bits) {
        Gemm.setVectorBits(bits);
        var rnd = new SplittableRandom(bits + 3);
        int i = 0;
        for (int[] s : SHAPES) {
            for (boolean trans : new boolean[] {false, true}) {
                float alpha = i % 3 == 2 ? -0.5f : 1f, beta = i % 2 == 0 ? 0f : 0.75f;
                i++;
                check(rnd, trans, s[0], s[1], s[2], alpha, beta, 1 + i % 2, i % 3);
            }
        }
    }

    @Test
    void packedOnOneWidthRunsOnAnother() {
        var rnd = new SplittableRandom(5);
        int m = 9, n = 40, k = 23;
        float[] b = random(rnd, n * k), a = random(rnd, m * k), c = new float[m * n], expected = new float[m * n];
        Gemm.setVectorBits(512);
        PackedMatrix p = PackedMatrix.of(true, k, n, b, 0, k);
        Gemm.setVectorBits(128);
        Gemm.sgemmPacked(m, 1f, a, 0, k, p, 0f, c, 0, n);
        GemmReference.sgemm(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, expected, 0, n);
        assertClose(expected, c, k, "repacked for 128 bits");
        assertEquals(k, p.rows());
        assertEquals(n, p.cols());
    }

    @Test
    void runsOnOneThread() {
        Parallel.setThreads(1);
        check(new SplittableRandom(9), true, 400, 60, 180, 1f, 1f, 0, 0);
    }

    @ParameterizedTest(name = "bf16={0}")
    @ValueSource(booleans = {true, false})
    void halfWeightsAreWidenedOnceIntoPanels(boolean bf16) {
        var rnd = new SplittableRandom(bf16 ? 11 : 12);
        try (Arena arena = Arena.ofConfined()) {
            for (int[] s : new int[][] {{1, 9, 17}, {13, 70, 31}, {16, 100, 400}}) {
                int m = s[0], n = s[1], k = s[2], ld = k + 3, lda = k + 1, ldc = n + 2;
                long off = 5; // odd: unaligned 16-bit reads, as in a safetensors file
                MemorySegment w = arena.allocate(off + 2L * n * ld);
                for (int i = 0; i < n * ld; i++) {
                    float v = (float) rnd.nextDouble(-1, 1);
                    w.set(LE, off + 2L * i, bf16 ? Half.floatToBf16(v) : Half.floatToF16(v));
                }
                float[] a = random(rnd, 2 + m * lda), c = random(rnd, 1 + m * ldc), expected = c.clone();
                PackedMatrix p = PackedMatrix.ofHalf(bf16, k, n, w, off, ld);
                GemmReference.sgemmHalfB(bf16, m, n, k, a, 2, lda, w, off, ld, 1f, expected, 1, ldc);
                Gemm.sgemmPacked(m, 1f, a, 2, lda, p, 1f, c, 1, ldc);
                assertClose(expected, c, k, "half m=" + m + " n=" + n + " k=" + k);
            }
        }
    }

    @Test
    void rejectsBadArgumentsNamingTheValues() {
        float[] b = new float[12], a = new float[12], c = new float[12];
        var e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.of(false, 3, 4, b, 1, 4));
        assertTrue(e.getMessage().contains("B (stored 3 x 4, ld 4) at offset 1 spans [1, 13) but the array has 12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.of(true, 4, 3, b, 0, 3));
        assertTrue(e.getMessage().contains("ld 3 < 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.of(false, -2, 3, b, 0, 3));
        assertTrue(e.getMessage().contains("k=-2"), e.getMessage());
        PackedMatrix p = PackedMatrix.of(false, 3, 4, b, 0, 4);
        e = assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmPacked(3, 1f, a, 0, 2, p, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("lda 2 < 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmPacked(4, 1f, a, 0, 3, p, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("C (stored 4 x 4, ld 4) at offset 0 spans [0, 16) but the array has 12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmPacked(1, 1f, a, 0, 3, null, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("B is null"), e.getMessage());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(10);
            e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.ofHalf(true, 3, 2, w, 0, 3));
            assertTrue(e.getMessage().contains("spans bytes [0, 12) but the segment has 10"), e.getMessage());
        }
    }

    private static void check(SplittableRandom rnd, boolean trans, int m, int n, int k, float alpha, float beta, int pad, int off) {
        int lda = Math.max(1, k) + pad, ldb = Math.max(1, trans ? k : n) + pad, ldc = n + pad;
        float[] a = random(rnd, off + m * lda), b = random(rnd, off + (trans ? n : k) * ldb);
        float[] c = random(rnd, off + m * ldc), expected = c.clone();
        PackedMatrix p = PackedMatrix.of(trans, k, n, b, off, ldb);
        Gemm.sgemmPacked(m, alpha, a, off, lda, p, beta, c, off, ldc);
        GemmReference.sgemm(false, trans, m, n, k, alpha, a, off, lda, b, off, ldb, beta, expected, off, ldc);
        assertClose(expected, c, k, String.format("m=%d n=%d k=%d trans=%b alpha=%s beta=%s", m, n, k, trans, alpha, beta));
    }

    /** Inputs are in [-1, 1), so k bounds each |sum|; padding between rows of C must be untouched. */
    private static void assertClose(float[] expected, float[] actual, int k, String what) {
        double tol = 1e-5 * Math.max(1, k);
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(expected[i] - actual[i]) <= tol * Math.max(1, Math.abs(expected[i]))))
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
