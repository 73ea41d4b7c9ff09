package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** MatVec's row-range kernels against plain loops, on odd shapes and ranges that start and end off a block of four. */
class MatVecTest {
    /** n, k, r0, r1: remainders of four rows, k off every vector width, empty and single-row ranges. */
    private static final int[][] CASES = {{9, 37, 0, 9}, {9, 37, 1, 8}, {16, 64, 4, 16}, {7, 100, 3, 4}, {5, 17, 2, 2},
            {13, 300, 5, 13}, {1, 1, 0, 1}, {70, 96, 0, 70}};

    private static float[] random(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextDouble(-1, 1);
        return a;
    }

    private static void close(double expected, float got, int k, String what) {
        assertEquals(expected, got, 1e-5 * Math.sqrt(k) * (1 + Math.abs(expected)), what);
    }

    @Test
    void dotRowsMatchesAPlainLoopAndLeavesOtherRowsAlone() {
        var rnd = new SplittableRandom(1);
        for (int[] cs : CASES) {
            int n = cs[0], k = cs[1], r0 = cs[2], r1 = cs[3], ld = k + 3, wOff = 5, xOff = 2, yOff = 1;
            float[] w = random(rnd, wOff + n * ld), x = random(rnd, xOff + k), y = new float[yOff + n + 1];
            java.util.Arrays.fill(y, -7f);
            MatVec.dotRows(w, wOff, ld, k, x, xOff, y, yOff, r0, r1);
            for (int r = 0; r < n; r++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) w[wOff + r * ld + p] * x[xOff + p];
                if (r >= r0 && r < r1) close(s, y[yOff + r], k, "n=" + n + " k=" + k + " row " + r);
                else assertEquals(-7f, y[yOff + r], "row " + r + " outside [" + r0 + ", " + r1 + ")");
            }
        }
    }

    @Test
    void axpyRowsSumsItsInputRowsAndPartialsAddUpToTheWholeProduct() {
        var rnd = new SplittableRandom(2);
        for (int[] cs : CASES) {
            int n = cs[0], k = cs[1], ld = n + 2, wOff = 3, xOff = 1;
            float[] w = random(rnd, wOff + k * ld), x = random(rnd, xOff + k), a = new float[n + 1], b = new float[n + 1];
            java.util.Arrays.fill(a, 9f); // overwritten, not accumulated onto
            int mid = k / 2 + 1;
            MatVec.axpyRows(w, wOff, ld, n, x, xOff, 0, Math.min(mid, k), a, 1);
            MatVec.axpyRows(w, wOff, ld, n, x, xOff, Math.min(mid, k), k, b, 1);
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) w[wOff + p * ld + j] * x[xOff + p];
                close(s, a[1 + j] + b[1 + j], k, "n=" + n + " k=" + k + " column " + j);
            }
        }
    }

    @Test
    void compressedRowsMatchTheScalarReference() {
        var rnd = new SplittableRandom(3);
        int[][] formats = {{8, 32}, {8, 96}, {4, 32}, {4, 64}, {16, 0}}; // bits, group size (16: bfloat16)
        for (int[] f : formats) {
            int bits = f[0], gs = f[1], k = 96, n = 11, xOff = 3;
            float[] w = random(rnd, n * k), x = random(rnd, xOff + k), y = new float[n], expected = new float[n];
            MemorySegment seg;
            float[] scales = null;
            if (bits == 16) {
                short[] h = new short[n * k];
                for (int i = 0; i < h.length; i++) h[i] = (short) (Float.floatToIntBits(w[i]) >>> 16);
                seg = MemorySegment.ofArray(h);
                for (int r = 0; r < n; r++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) Float.intBitsToFloat((h[r * k + p] & 0xFFFF) << 16) * x[xOff + p];
                    expected[r] = (float) s;
                }
            } else {
                byte[] codes = new byte[(int) (n * Quantization.rowBytes(bits, k))];
                scales = new float[n * Quantization.groups(k, gs)];
                Quantization.quantize(bits, gs, w, 0, n, k, codes, scales);
                seg = MemorySegment.ofArray(codes);
                QuantizedReference.matmul(bits, gs, 1, n, k, x, xOff, k, seg, 0, scales, 0, 0f, expected, 0, n);
            }
            MatVec.compressedRows(bits, gs, k, x, xOff, seg, 0, scales, 0, y, 0, 0, 6);
            MatVec.compressedRows(bits, gs, k, x, xOff, seg, 0, scales, 0, y, 0, 6, n);
            for (int r = 0; r < n; r++) close(expected[r], y[r], k, "bits=" + bits + " group " + gs + " row " + r);
        }
    }

    @Test
    void badRangesAndShortOperandsAreNamed() {
        float[] w = new float[40], x = new float[8], y = new float[5];
        var e = assertThrows(IllegalArgumentException.class, () -> MatVec.dotRows(w, 0, 8, 8, x, 0, y, 0, 3, 2));
        assertTrue(e.getMessage().contains("[3, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatVec.dotRows(w, 0, 8, 8, x, 0, y, 0, 0, 6));
        assertTrue(e.getMessage().contains("y needs") && e.getMessage().contains("has 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatVec.dotRows(w, 0, 10, 8, x, 0, y, 0, 0, 5));
        assertTrue(e.getMessage().contains("W needs") && e.getMessage().contains("has 40"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatVec.axpyRows(w, 0, 5, 5, x, 0, 0, 9, y, 0));
        assertTrue(e.getMessage().contains("x needs") && e.getMessage().contains("has 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatVec.compressedRows(4, 32, 64, new float[64], 0,
                MemorySegment.ofArray(new byte[64]), 0, new float[4], 0, new float[4], 0, 0, 4));
        assertTrue(e.getMessage().contains("4 rows of 32 bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatVec.compressedRows(8, 32, 64, new float[64], 0,
                MemorySegment.ofArray(new byte[256]), 0, new float[7], 0, new float[4], 0, 0, 4));
        assertTrue(e.getMessage().contains("scales needs") && e.getMessage().contains("has 7"), e.getMessage());
    }
}
