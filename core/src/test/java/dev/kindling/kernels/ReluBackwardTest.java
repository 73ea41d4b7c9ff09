package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** relu's vectorised backward against its definition, across vector-length tails and special values. */
class ReluBackwardTest {
    @Test
    void selectsTheGradientWherePositive() {
        Random r = new Random(1);
        for (int n : new int[] {0, 1, 7, 16, 33, 100}) {
            float[] x = new float[n + 3], g = new float[n + 2], out = new float[n + 1];
            for (int i = 0; i < x.length; i++) x[i] = r.nextInt(5) == 0 ? 0f : (float) r.nextGaussian();
            for (int i = 0; i < g.length; i++) g[i] = r.nextInt(7) == 0 ? Float.NaN : (float) r.nextGaussian();
            Elementwise.activationBackward(Elementwise.Unary.RELU, x, 3, g, 2, out, 1, n);
            for (int i = 0; i < n; i++) {
                float want = x[3 + i] > 0 ? g[2 + i] : 0f;
                assertEquals(want, out[1 + i], "n=" + n + " i=" + i);
            }
            if (n > 0) assertEquals(0f, out[0]);
        }
    }
}
