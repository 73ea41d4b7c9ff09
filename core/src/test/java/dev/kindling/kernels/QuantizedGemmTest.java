package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** QuantizedGemm's vector kernels against their scalar twin, and Quantization's format and checks. */
@ExtendWith(TwoKernelThreads.class)
class QuantizedGemmTest {
    /** m, n, k, group size: decode rows, row remainders (n % 4), k off every vector and block size, one group per row. */
    private static final int[][] CASES = {{1, 4, 32, 32}, {1, 7, 96, 32}, {3, 9, 100, 32}, {2, 13, 77, 77}, {1, 5, 64, 64},
            {5, 6, 160, 64}, {1, 1, 16, 16}, {4, 11, 300, 128}, {1, 8, 1000, 1000}, {2, 3, 45, 45},
            {6, 5, 96, 96}, {7, 9, 200, 200},
            {9, 10, 256, 32}, {8, 8, 64, 64}, {12, 70, 77, 77}, {10, 131, 100, 100}}; // the last four decode panels for the GEMM
    @ParameterizedTest(name = "bits={0}")
    @ValueSource(ints = {8, 4})
    void matchesScalarTwinWithOffsetsAndBeta(int bits) {
        var rnd = new SplittableRandom(bits);
        for (int[] cs : CASES) {
            int m = cs[0], n = cs[1], k = cs[2], gs = cs[3];
            if (gs % 32 != 0 && gs != k) continue;
            int lda = k + 3, ldc = n + 2, aOff = 1, cOff = 3, sOff = 2;
            long wOff = 7; // odd: unaligned, as a tensor inside a safetensors file
            float[] w = random(rnd, n * k, 2);
            long rb = Quantization.rowBytes(bits, k);
            byte[] codes = new byte[(int) (n * rb)];
            int groups = Quantization.groups(k, gs);
            float[] scales = new float[n * groups];
            Quantization.quantize(bits, gs, w, 0, n, k, codes, scales);
            float[] sc = new float[sOff + scales.length];
            System.arraycopy(scales, 0, sc, sOff, scales.length);
            MemorySegment seg = MemorySegment.ofArray(new byte[(int) (wOff + codes.length)]);
            MemorySegment.copy(MemorySegment.ofArray(codes), 0, seg, wOff, codes.length);
            float[] a = random(rnd, aOff + m * lda, 1);
            for (float beta : new float[] {0f, 0.5f}) {
                float[] c = random(rnd, cOff + m * ldc, 1), expected = c.clone();
                QuantizedReference.matmul(bits, gs, m, n, k, a, aOff, lda, seg, wOff, sc, sOff, beta, expected, cOff, ldc);
                QuantizedGemm.matmul(bits, gs, m, n, k, a, aOff, lda, seg, wOff, sc, sOff, beta, c, cOff, ldc);
                for (int i = 0; i < c.length; i++)
                    assertEquals(expected[i], c[i], 1e-4 * (1 + Math.abs(expected[i])) * Math.sqrt(k),
                            "bits=" + bits + " m=" + m + " n=" + n + " k=" + k + " g=" + gs + " beta=" + beta + " at " + i);
            }
        }
    }

    @ParameterizedTest(name = "bits={0}")
    @ValueSource(ints = {8, 4})
    void roundTripErrorIsAtMostHalfAStepOrOneWhenClamped(int bits) {
        var rnd = new SplittableRandom(3);
        int rows = 5, cols = 70, gs = 32, groups = Quantization.groups(cols, gs);
        float[] w = random(rnd, rows * cols, 3);
        w[5] = 0f; // an all-zero group must decode to zeros
        for (int j = 64; j < 70; j++) w[2 * cols + j] = 0f;
        byte[] codes = new byte[(int) (rows * Quantization.rowBytes(bits, cols))];
        float[] scales = new float[rows * groups];
        Quantization.quantize(bits, gs, w, 0, rows, cols, codes, scales);
        float[] back = new float[cols];
        for (int r = 0; r < rows; r++) {
            Quantization.dequantizeRow(bits, gs, cols, MemorySegment.ofArray(codes), 0, scales, 0, r, back, 0);
            for (int j = 0; j < cols; j++) {
                // int4's scale may clamp values of the other sign than the extreme: one step at most
                float d = Math.abs(scales[r * groups + j / gs]) * (bits == 8 ? 0.5f : 1f);
                assertTrue(Math.abs(back[j] - w[r * cols + j]) <= d + 1e-6f,
                        "bits=" + bits + " [" + r + ", " + j + "]: " + w[r * cols + j] + " -> " + back[j] + " (step " + d + ")");
            }
        }
        assertEquals(0f, scales[2 * groups + 2]);
    }

    @Test
    void int4KeepsTheLargestMagnitudeExactAndPicksTheScaleWithLessError() {
        float[] w = new float[32];
        w[3] = 0.5f;
        w[20] = -1.6f;
        byte[] codes = new byte[16];
        float[] scales = new float[1];
        Quantization.quantize(4, 32, w, 0, 1, 32, codes, scales);
        // 1.6 / 8 = 0.2 decodes 0.5 as 0.6; 1.6 / 7 decodes it as 0.457, closer: that scale wins
        assertEquals(1.6f / 7, scales[0], 1e-7f);
        float[] back = new float[32];
        Quantization.dequantizeRow(4, 32, 32, MemorySegment.ofArray(codes), 0, scales, 0, 0, back, 0);
        assertEquals(-1.6f, back[20], 1e-6f);
        assertEquals(2 * 1.6f / 7, back[3], 1e-6f);
        w[3] = 1.5f; // now -8 * 0.2 keeps both: 1.5 -> 1.4 (one step off), versus 1.6/7 * 7 = 1.6
        Quantization.quantize(4, 32, w, 0, 1, 32, codes, scales);
        assertEquals(0.2f, scales[0], 1e-7f);
        assertEquals(-8, Quantization.code(4, MemorySegment.ofArray(codes), 0, 20));
    }

    @Test
    void badInputIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Quantization.check(5, 32, 64));
        assertTrue(e.getMessage().contains("bits must be 4 or 8, got 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Quantization.check(4, 48, 64));
        assertTrue(e.getMessage().contains("group size 48"), e.getMessage());
        float[] w = {1f, Float.NaN};
        e = assertThrows(IllegalArgumentException.class, () -> Quantization.quantize(8, 2, w, 0, 1, 2, new byte[2], new float[1]));
        assertTrue(e.getMessage().contains("weight [0, 1] is NaN"), e.getMessage());
        MemorySegment small = MemorySegment.ofArray(new byte[10]);
        e = assertThrows(IllegalArgumentException.class, () -> QuantizedGemm.matmul(8, 32, 1, 2, 32, new float[32], 0, 32, small, 0,
                new float[2], 0, 0f, new float[2], 0, 2));
        assertTrue(e.getMessage().contains("spans [0, 64) but the segment has 10 bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QuantizedGemm.matmul(8, 32, 1, 2, 32, new float[31], 0, 32,
                MemorySegment.ofArray(new byte[64]), 0, new float[2], 0, 0f, new float[2], 0, 2));
        assertTrue(e.getMessage().contains("A (1 x 32, lda 32)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QuantizedGemm.matmul(4, 32, 1, 2, 64, new float[64], 0, 64,
                MemorySegment.ofArray(new byte[64]), 0, new float[3], 0, 0f, new float[2], 0, 2));
        assertTrue(e.getMessage().contains("scales need 4 floats"), e.getMessage());
    }

    private static float[] random(SplittableRandom rnd, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-scale, scale);
        return v;
    }

    static {
        // the kernels run on an arena-free heap segment in these tests; a mapped file behaves the same
        Arena.global();
    }
}
