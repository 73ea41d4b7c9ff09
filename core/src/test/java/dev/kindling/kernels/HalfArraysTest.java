package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kindling.io.Half;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The array loops against the scalar conversions of io.Half, on random and special values. */
class HalfArraysTest {
    private static float[] values() {
        Random r = new Random(11);
        float[] v = new float[4096 + 5]; // not a multiple of any vector length: the scalar tail runs too
        for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(r.nextInt()); // every exponent, NaNs included
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 65504f, 65520f, 65519.99f,
                1e-8f, -6e-5f, Float.MIN_VALUE, Float.MAX_VALUE, 1.00390625f, 1.01171875f, 3.3895314e38f};
        System.arraycopy(special, 0, v, 0, special.length);
        return v;
    }

    @Test
    void narrowWidenAndRoundAgreeWithTheScalarConversions() {
        float[] v = values();
        short[] b = new short[v.length + 3], f = new short[v.length + 3];
        HalfArrays.narrow(true, v, 0, b, 3, v.length);
        HalfArrays.narrow(false, v, 0, f, 3, v.length);
        float[] wb = new float[v.length], wf = new float[v.length], rb = v.clone(), rf = new float[v.length];
        HalfArrays.widen(true, b, 3, wb, 0, v.length);
        HalfArrays.widen(false, f, 3, wf, 0, v.length);
        HalfArrays.round(true, rb, 0, rb, 0, v.length);
        HalfArrays.round(false, v, 0, rf, 0, v.length);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Half.floatToBf16(v[i]), b[i + 3], "bf16 of " + v[i]);
            assertEquals(Half.floatToF16(v[i]), f[i + 3], "f16 of " + v[i]);
            assertEquals(Half.bf16ToFloat(b[i + 3]), wb[i]);
            assertEquals(Half.f16ToFloat(f[i + 3]), wf[i]);
            assertEquals(Float.floatToIntBits(wb[i]), Float.floatToIntBits(rb[i]), "round bf16 of " + v[i]);
            assertEquals(Float.floatToIntBits(wf[i]), Float.floatToIntBits(rf[i]), "round f16 of " + v[i]);
        }
    }

    @Test
    void rangesOutsideTheArraysAreRefused() {
        var e = assertThrows(IndexOutOfBoundsException.class, () -> HalfArrays.widen(true, new short[4], 2, new float[8], 0, 3));
        assertEquals("HalfArrays.widen: 3 elements from source offset 2 (length 4) to destination offset 0 (length 8)", e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> HalfArrays.narrow(false, new float[4], 0, new short[2], 0, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> HalfArrays.round(false, new float[4], -1, new float[4], 0, 1));
    }
}
