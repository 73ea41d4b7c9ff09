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

    /**
     * The bits softmax and logSumExp must give: exp of each score less the row maximum (VectorMath's scalar twin),
     * the whole vectors' exps summed per lane, the lanes added in lane order, then the tail's exps one by one.
     */
    private static float[] softmaxTwin(float[] x, int o, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[o + i]);
        if (m == Float.NEGATIVE_INFINITY) m = 0;
        float[] e = new float[n], lanes = new float[LANES];
        for (int i = 0; i < n; i++) e[i] = VectorMath.exp(x[o + i] - m);
        int bound = n / LANES * LANES;
        for (int i = 0; i < bound; i++) lanes[i % LANES] += e[i];
        float sum = 0f;
        for (float l : lanes) sum += l;
        for (int i = bound; i < n; i++) sum += e[i];
        float[] out = new float[n + 1];
        float inv = 1 / sum;
        for (int i = 0; i < n; i++) out[i] = e[i] * inv;
        out[n] = (float) (m + Math.log(sum)); // logSumExp's result
        return out;
    }

    @Test
    void softmaxAndLogSumExpAreTheirScalarTwinsBitForBit() {
        Random r = new Random(7);
        for (int n = 1; n <= 3 * LANES + 1; n++) {
            for (int trial = 0; trial < 3; trial++) {
                float[] x = new float[n + 5];
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 6);
                if (trial == 1) x[2 + r.nextInt(n)] = Float.NEGATIVE_INFINITY;
                if (trial == 2) for (int i = 0; i < x.length; i++) x[i] = Float.NEGATIVE_INFINITY; // NaN, as in PyTorch
                float[] want = softmaxTwin(x, 2, n), dst = new float[n + 3], inPlace = x.clone();
                Softmax.softmax(x, 2, dst, 1, n);
                Softmax.softmax(inPlace, 2, inPlace, 2, n);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(dst[1 + i]), "n=" + n + " trial " + trial + " i=" + i);
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(inPlace[2 + i]), "in place, n=" + n + " i=" + i);
                }
                assertEquals(0f, dst[0]);
                assertEquals(0f, dst[n + 1]);
                if (trial < 2)
                    assertEquals(Float.floatToIntBits(want[n]), Float.floatToIntBits(Softmax.logSumExp(x, 2, n)), "logSumExp n=" + n);
            }
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
