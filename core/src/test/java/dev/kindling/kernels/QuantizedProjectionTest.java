package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dynamically quantized projection against ONNX's op-by-op arithmetic written out in scalar code:
 * DynamicQuantizeLinear (uint8, per tensor, half-to-even), MatMulInteger in exact integers, Cast, Mul by
 * scale_x * scale_w (rounded to float), Add the bias. Same bits expected, on odd shapes.
 */
@ExtendWith(TwoKernelThreads.class)
class QuantizedProjectionTest {
    /** Weight codes minus their zero points: int8 codes minus an int8 zero point per column. */
    private static float[] shiftedCodes(SplittableRandom rnd, int in, int out) {
        float[] w = new float[in * out];
        for (int p = 0; p < in; p++)
            for (int j = 0; j < out; j++) w[p * out + j] = (rnd.nextInt(256) - 128) - (j % 7 - 3);
        return w;
    }

    /** The op-by-op result: (codes - zp) x W summed as integers, then * (sx * sw[j]) and + bias[j] in float. */
    private static float[] reference(float[] x, int rows, int in, int out, float[] w, float[] ws, float[] bias) {
        float[] sz = DynamicQuantization.scaleAndZeroPoint(x, 0, rows * in);
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < out; j++) {
                long sum = 0;
                for (int p = 0; p < in; p++)
                    sum += (long) DynamicQuantization.quantizeShifted(x[r * in + p], sz[0], sz[1]) * (long) w[p * out + j];
                float scale = sz[0] * ws[ws.length == 1 ? 0 : j];
                float v = (float) sum * scale;
                y[r * out + j] = bias == null ? v : v + bias[j];
            }
        return y;
    }

    @Test
    void matchesTheOpByOpArithmeticBitForBit() {
        var rnd = new SplittableRandom(11);
        int in = 37, out = 150;
        float[] w = shiftedCodes(rnd, in, out), perColumn = EncoderLayerTest.rand(rnd, out, 0.01), bias = EncoderLayerTest.rand(rnd, out, 0.5);
        for (float[] ws : new float[][] {perColumn, {0.0037f}})
            for (int rows : new int[] {1, 7, 1800}) { // 1800 x 37 (at least 2^16 values) quantizes on both threads
                var p = EncoderLayer.Projection.dynamicQuantized(in, out, w, ws);
                assertTrue(p.quantizesInput() && p.splitsColumns());
                float[] x = EncoderLayerTest.rand(rnd, rows * in, 3.0);
                x[rows * in / 2] = 7.5f; // a range that is not symmetric around zero
                float[] plain = reference(x, rows, in, out, w, ws, null), biased = reference(x, rows, in, out, w, ws, bias);
                float[] y = new float[rows * out];
                p.apply(x, rows, y, 0f);
                assertSame(plain, y, "apply, rows " + rows);
                java.util.Arrays.fill(y, 1f);
                p.applyWithBias(x, rows, y, bias);
                assertSame(biased, y, "applyWithBias, rows " + rows);
                float[] blocks = new float[rows * out], blocksBiased = new float[rows * out];
                for (int j = 0; j < 2; j++) {
                    p.applyBlock(x, rows, blocks, 0f, j, 2);
                    p.applyBlockWithBias(x, rows, blocksBiased, bias, j, 2);
                }
                assertSame(plain, blocks, "applyBlock, rows " + rows);
                assertSame(biased, blocksBiased, "applyBlockWithBias, rows " + rows);
                // unscaled: the caller multiplies by the returned column scales; a range given is the one used
                float[] unscaled = new float[rows * out], unscaledBlocks = new float[rows * out];
                float[] cs = p.applyUnscaled(x, null, rows, unscaled), range = DynamicQuantization.range(x, 0, rows * in);
                float[] cs2 = null;
                for (int j = 0; j < 2; j++) cs2 = p.applyBlockUnscaled(x, range, rows, unscaledBlocks, j, 2);
                for (int i = 0; i < unscaled.length; i++) {
                    assertEquals(plain[i], unscaled[i] * cs[i % out], 0f, "applyUnscaled, element " + i);
                    assertEquals(plain[i], unscaledBlocks[i] * cs2[i % out], 0f, "applyBlockUnscaled with the range, element " + i);
                }
                float[] wider = new float[rows * out];
                float[] cs3 = p.applyUnscaled(x, new float[] {range[0] * 2, range[1] * 2}, rows, wider);
                assertEquals(2 * cs[0], cs3[0], Math.ulp(cs3[0]) * 2, "a range twice as wide doubles the input scale");
                float[] acc = new float[rows * out];
                java.util.Arrays.fill(acc, 2f);
                p.apply(x, rows, acc, 1f);
                for (int i = 0; i < acc.length; i++) assertEquals(plain[i] + 2f, acc[i], Math.ulp(plain[i] + 2f), "beta 1, element " + i);
            }
    }

    @Test
    void allZeroInputGivesZerosAndFloatProjectionsDoNotQuantize() {
        var p = EncoderLayer.Projection.dynamicQuantized(3, 2, new float[] {1, 2, 3, 4, 5, 6}, new float[] {0.5f});
        float[] y = {9, 9, 9, 9};
        p.applyWithBias(new float[6], 2, y, new float[] {1, -1});
        assertEquals(java.util.List.of(1f, -1f, 1f, -1f), java.util.List.of(y[0], y[1], y[2], y[3]));
        assertFalse(EncoderLayer.Projection.packed(true, 3, 2, new float[6], 0, 3).quantizesInput());
    }

    @Test
    void badArgumentsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> EncoderLayer.Projection.dynamicQuantized(3, 2, new float[5], new float[] {1}));
        assertTrue(e.getMessage().contains("W has 5 values, expected in 3 x out 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EncoderLayer.Projection.dynamicQuantized(3, 2, new float[6], new float[3]));
        assertTrue(e.getMessage().contains("3 weight scales, expected 1 or one per output column (2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EncoderLayer.Projection.dynamicQuantized(-1, 2, new float[0], new float[1]));
        assertTrue(e.getMessage().contains("in=-1"), e.getMessage());
        var p = EncoderLayer.Projection.dynamicQuantized(3, 2, new float[6], new float[] {1});
        e = assertThrows(IllegalArgumentException.class, () -> p.applyWithBias(new float[6], 2, new float[4], new float[3]));
        assertTrue(e.getMessage().contains("bias has 3 values, expected 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> p.applyBlock(new float[6], 2, new float[4], 1f, 0, 2));
        assertTrue(e.getMessage().contains("beta 1.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> p.apply(new float[5], 2, new float[4], 0f));
        assertTrue(e.getMessage().contains("x has 5 values, expected rows 2 x in 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> p.applyUnscaled(new float[6], new float[3], 2, new float[4]));
        assertTrue(e.getMessage().contains("a range is {min, max}, got 3 values"), e.getMessage());
        float[] nan = {0, Float.NaN, 1, 2, 3, 4};
        e = assertThrows(IllegalArgumentException.class, () -> p.apply(nan, 2, new float[4], 0f));
        assertTrue(e.getMessage().contains("not finite"), e.getMessage());
    }

    private static void assertSame(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 0f, what + ", element " + i);
    }
}
