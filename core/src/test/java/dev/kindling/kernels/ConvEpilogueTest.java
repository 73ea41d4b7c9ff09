package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link ConvEpilogue}'s vector loops against their scalar twins, across vector-length tails, offsets and NaN. */
class ConvEpilogueTest {
    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(9) == 0 ? Float.NaN : r.nextInt(6) == 0 ? 0f : (float) r.nextGaussian();
        return a;
    }

    @Test
    void biasReluMatchesScalarTwin() {
        Random r = new Random(5);
        for (int n : new int[] {0, 1, 15, 16, 17, 64, 100}) {
            for (boolean relu : new boolean[] {true, false}) {
                float[] y = random(r, n + 3), want = y.clone();
                float bias = (float) r.nextGaussian();
                ConvEpilogue.biasRelu(y, 2, n, bias, relu);
                ConvEpilogue.biasReluScalar(want, 2, n, bias, relu);
                for (int i = 0; i < y.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), "n=" + n + " relu=" + relu + " i=" + i);
            }
        }
    }

    @Test
    void maskSumMatchesScalarTwin() {
        Random r = new Random(6);
        for (int n : new int[] {0, 1, 15, 16, 17, 64, 100}) {
            float[] y = random(r, n + 4), g = new float[n + 1];
            for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
            for (boolean mask : new boolean[] {true, false}) {
                float[] out = new float[n + 2], want = new float[n + 2];
                float s = ConvEpilogue.maskSum(mask ? y : null, 4, g, 1, out, 2, n);
                float t = ConvEpilogue.maskSumScalar(mask ? y : null, 4, g, 1, want, 2, n);
                for (int i = 0; i < out.length; i++) assertEquals(want[i], out[i], "n=" + n + " mask=" + mask + " i=" + i);
                assertEquals(t, s, 1e-4f * (1 + n), "sum, n=" + n + " mask=" + mask);
                // a null output only sums
                assertEquals(s, ConvEpilogue.maskSum(mask ? y : null, 4, g, 1, null, 0, n), "sum without output, n=" + n);
            }
        }
    }
}
