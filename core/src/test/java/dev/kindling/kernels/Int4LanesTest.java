package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The int4 lane kernel behind {@link MatVec#compressedRows} (groups of 32, k a multiple of {@link Int4Lanes#CHUNK})
 * against the scalar reference, on odd row counts, ranges off the blocks of four, every code from -8 to 7, and
 * scale arrays with and without room past the last row (the kernel reads whole vectors of scales).
 */
class Int4LanesTest {
    private static final int C = Int4Lanes.CHUNK;

    /** y[r] = sum over j of scale * code * x in double, from the stored codes: what the kernels must reproduce. */
    private static double[] exact(int n, int k, MemorySegment codes, float[] scales, int sOff, float[] x, int xOff, double[] magnitude) {
        long rb = Quantization.rowBytes(4, k);
        int groups = Quantization.groups(k, 32);
        double[] y = new double[n];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < k; j++) {
                double t = (double) scales[sOff + r * groups + j / 32] * Quantization.code(4, codes, r * rb, j) * x[xOff + j];
                y[r] += t;
                magnitude[r] += Math.abs(t);
            }
        return y;
    }

    private static void check(int n, int k, byte[] codeBytes, float[] scales, int sOff, float[] x, int xOff, int split, String what) {
        MemorySegment codes = MemorySegment.ofArray(codeBytes);
        double[] magnitude = new double[n];
        double[] expected = exact(n, k, codes, scales, sOff, x, xOff, magnitude);
        float[] y = new float[n + 2];
        java.util.Arrays.fill(y, Float.NaN);
        MatVec.compressedRows(4, 32, k, x, xOff, codes, 0, scales, sOff, y, 1, 0, split);
        MatVec.compressedRows(4, 32, k, x, xOff, codes, 0, scales, sOff, y, 1, split, n);
        for (int r = 0; r < n; r++)
            assertEquals(expected[r], y[1 + r], 2e-6 * magnitude[r] + 1e-30, what + ": n=" + n + " k=" + k + " row " + r);
        assertTrue(Float.isNaN(y[0]) && Float.isNaN(y[n + 1]), what + ": wrote outside its rows");
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    @Test
    void matchesTheScalarReferenceOnOddShapes() {
        var rnd = new SplittableRandom(7);
        // n, k, split: one row, odd counts, a quarter-range of one row, k of one to three chunks and one not a chunk multiple
        int[][] cases = {{1, C, 1}, {4, C, 0}, {5, 2 * C, 3}, {11, 3 * C, 6}, {13, C, 13}, {37, 2 * C, 17}, {9, 2 * C + 32, 4}};
        for (int[] cs : cases) {
            int n = cs[0], k = cs[1], split = cs[2], xOff = 3;
            float[] w = random(rnd, n * k), x = random(rnd, xOff + k);
            byte[] codes = new byte[(int) (n * Quantization.rowBytes(4, k))];
            int groups = Quantization.groups(k, 32);
            float[] scales = new float[n * groups]; // no room past the last row
            Quantization.quantize(4, 32, w, 0, n, k, codes, scales);
            check(n, k, codes, scales, 0, x, xOff, split, "exact scales");
            float[] roomy = new float[5 + n * groups + 64]; // room past the last row, and an offset
            System.arraycopy(scales, 0, roomy, 5, scales.length);
            check(n, k, codes, roomy, 5, x, xOff, split, "scales with room");
        }
    }

    @Test
    void everyCodeFromMinus8To7DecodesExactly() {
        var rnd = new SplittableRandom(8);
        int n = 9, k = 2 * C;
        long rb = Quantization.rowBytes(4, k);
        byte[] codes = new byte[(int) (n * rb)];
        // nibble by nibble: row r, element j holds code (r + j) mod 16 - 8, so every code meets every lane and nibble
        for (int r = 0; r < n; r++)
            for (int j = 0; j < k; j++) Quantization.setNibble(codes, (int) (r * rb), j, (r + 3 * j) % 16 - 8);
        float[] scales = new float[n * Quantization.groups(k, 32)];
        for (int i = 0; i < scales.length; i++) scales[i] = (float) (0.5 + rnd.nextDouble());
        float[] x = random(rnd, k);
        check(n, k, codes, scales, 0, x, 0, 5, "all codes");
        // one weight at a time: a single nonzero x picks out one code per row, so a misplaced lane shows as a wrong row value
        for (int j : new int[] {0, 1, 15, 16, 17, 31, 32, 63, C - 1, C, k - 1}) {
            float[] e = new float[k];
            e[j] = 1f;
            float[] y = new float[n];
            MatVec.compressedRows(4, 32, k, e, 0, MemorySegment.ofArray(codes), 0, scales, 0, y, 0, 0, n);
            for (int r = 0; r < n; r++)
                assertEquals(scales[r * (k / 32) + j / 32] * ((r + 3 * j) % 16 - 8), y[r], 1e-5f, "element " + j + " of row " + r);
        }
    }
}
