package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The score-row kernels of attention and cross-entropy against their scalar definitions, over every tail length
 * (rows shorter than a vector, exact multiples, longer rows with tails), at an offset, with masked (-inf) scores.
 */
class SoftmaxTest {
    private static final int LANES = Elementwise.S.length();

    @Test
    void expShiftedIsTheScalarExpOfEveryElement() {
        Random r = new Random(5);
        for (int n = 0; n <= 3 * LANES + 1; n++) {
            float[] x = new float[n + 4];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 4);
            float[] want = x.clone();
            for (int i = 0; i < n; i++) want[2 + i] = VectorMath.exp(x[2 + i] - 1.25f);
            Softmax.expShifted(x, 2, n, 1.25f);
            for (int i = 0; i < x.length; i++) assertEquals(want[i], x[i], 0f, "n=" + n + " i=" + i);
        }
    }

    @Test
    void logSumExpMatchesTheDefinition() {
        Random r = new Random(6);
        for (int n = 1; n <= 3 * LANES + 1; n++) {
            float[] x = new float[n + 3];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 4);
            if (n > 1) x[1 + r.nextInt(n)] = Float.NEGATIVE_INFINITY; // a masked score contributes nothing
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < n; i++) m = Math.max(m, x[1 + i]);
            for (int i = 0; i < n; i++) s += Math.exp(x[1 + i] - m);
            assertEquals(m + Math.log(s), Softmax.logSumExp(x, 1, n), 2e-6 * (1 + Math.abs(m)), "n=" + n);
        }
        assertEquals(Float.NEGATIVE_INFINITY, Softmax.logSumExp(new float[3], 1, 0));
    }
}
