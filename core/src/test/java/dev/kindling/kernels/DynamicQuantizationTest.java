package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DynamicQuantization's SIMD loops against its scalar twin and the ONNX definition, on odd lengths and ties. */
class DynamicQuantizationTest {
    @Test
    void matchesTheScalarTwinAndTheOnnxDefinition() {
        var rnd = new SplittableRandom(3);
        for (int n : new int[] {1, 7, 16, 33, 100, 1001}) {
            float[] x = new float[n + 2];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-3, 5);
            float[] sz = DynamicQuantization.scaleAndZeroPoint(x, 1, n);
            float lo = 0, hi = 0;
            for (int i = 1; i <= n; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
            assertEquals((hi - lo) / 255f, sz[0], "scale n=" + n);
            assertEquals((float) Math.clamp(Math.rint(-lo / sz[0]), 0, 255), sz[1], "zero point n=" + n);
            x[1] = sz[0] * 2.5f; // a tie: rounds to the even code 2
            float[] out = new float[n + 1];
            DynamicQuantization.quantizeShifted(x, 1, n, sz[0], sz[1], out, 1);
            assertEquals(0f, out[0], "element before outOff is untouched");
            for (int i = 0; i < n; i++) {
                float expected = (float) (Math.clamp(Math.rint(x[1 + i] / sz[0]) + sz[1], 0, 255) - sz[1]);
                assertEquals(expected, out[1 + i], "n=" + n + " at " + i);
                assertEquals(DynamicQuantization.quantizeShifted(x[1 + i], sz[0], sz[1]), out[1 + i]);
            }
            assertEquals(2f, out[1], "half to even");
        }
    }

    @Test
    void allZerosAndOneSignedInputs() {
        float[] zeros = new float[20];
        float[] sz = DynamicQuantization.scaleAndZeroPoint(zeros, 0, 20);
        assertEquals(0f, sz[0]);
        assertEquals(0f, sz[1]);
        float[] out = new float[20];
        java.util.Arrays.fill(out, 9f);
        DynamicQuantization.quantizeShifted(zeros, 0, 20, 0f, 0f, out, 0);
        for (float v : out) assertEquals(0f, v);
        float[] neg = new float[19];
        for (int i = 0; i < neg.length; i++) neg[i] = -1 - i;
        sz = DynamicQuantization.scaleAndZeroPoint(neg, 0, 19);
        assertEquals(255f, sz[1], "all negative: zero at the top code");
        DynamicQuantization.quantizeShifted(neg, 0, 19, sz[0], sz[1], out, 0);
        assertEquals(-255f, out[18], "the minimum maps to code 0");
    }

    @Test
    void nonFiniteInputIsNamed() {
        float[] x = new float[40];
        x[17] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> DynamicQuantization.scaleAndZeroPoint(x, 0, 40));
        assertTrue(e.getMessage().contains("not finite"), e.getMessage());
    }
}
