package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Inputs over [lo, hi]: a dense grid, random points and the given special values. */
    private static float[] inputs(float lo, float hi, float... special) {
        Random r = new Random(1);
        int grid = 20_000, rnd = 10_000;
        float[] x = new float[grid + rnd + special.length];
        for (int i = 0; i < grid; i++) x[i] = lo + (hi - lo) * i / (grid - 1);
        for (int i = 0; i < rnd; i++) x[grid + i] = lo + (hi - lo) * r.nextFloat();
        System.arraycopy(special, 0, x, grid + rnd, special.length);
        return x;
    }

    private static float[] vector(float[] x, boolean tanh) {
        int n = x.length - x.length % S.length();
        float[] out = new float[n];
        for (int i = 0; i < n; i += S.length()) {
            var v = FloatVector.fromArray(S, x, i);
            (tanh ? VectorMath.tanh(v) : VectorMath.exp(v)).intoArray(out, i);
        }
        return out;
    }

    /** Vector and scalar give the same bits; both within maxUlp of the correctly rounded value. */
    private static void check(String name, float[] x, boolean tanh, DoubleUnaryOperator exact, double maxUlp) {
        float[] v = vector(x, tanh);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            float s = tanh ? VectorMath.tanh(x[i]) : VectorMath.exp(x[i]);
            if (i < v.length && Float.floatToIntBits(s) != Float.floatToIntBits(v[i]))
                fail(name + "(" + x[i] + "): vector " + v[i] + " scalar " + s);
            float want = (float) exact.applyAsDouble(x[i]);
            if (Float.isNaN(want) || Float.isInfinite(want) || want == 0) {
                if (Float.compare(want, s) != 0 && !(want == 0 && s == 0)) fail(name + "(" + x[i] + ") = " + s + ", expected " + want);
                continue;
            }
            double ulps = Math.abs(s - (double) want) / Math.ulp(want);
            worst = Math.max(worst, ulps);
            if (ulps > maxUlp) fail(name + "(" + x[i] + ") = " + s + ", correctly rounded " + want + ": " + ulps + " ulp");
        }
        assertTrue(worst > 0, name + ": suspiciously exact");
    }

    @Test
    void expIsAccurateOverItsWholeRange() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        check("exp", inputs(-87.3f, 88.7f, 0f, -0f, 1f, -1f, 88.72f, 88.73f, 89f, 1000f, -1000f, inf, -inf, nan, 1e-8f, -1e-8f,
                Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE), false, Math::exp, 2);
        assertEquals(1f, VectorMath.exp(0f), 0f);
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(89f), 0f);
        assertEquals(0f, VectorMath.exp(-104f), 0f);
    }

    @Test
    void expIntoSubnormals() {
        // results below 2^-126 lose bits as subnormals do: compare absolutely, in units of the smallest subnormal
        float[] x = inputs(-103.9f, -87.4f);
        float[] v = vector(x, false);
        for (int i = 0; i < x.length; i++) {
            float s = VectorMath.exp(x[i]);
            if (i < v.length && Float.floatToIntBits(s) != Float.floatToIntBits(v[i])) fail("exp(" + x[i] + "): vector " + v[i] + " scalar " + s);
            double want = Math.exp(x[i]);
            if (Math.abs(s - want) > 2 * Float.MIN_VALUE + 2 * Math.ulp((float) want)) fail("exp(" + x[i] + ") = " + s + ", exactly " + want);
        }
    }

    @Test
    void tanhIsAccurate() {
        check("tanh", inputs(-10f, 10f, 0f, 0.625f, -0.625f, 0.62500006f, 1e-6f, -1e-30f, 20f, -45f, 100f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN), true, Math::tanh, 3);
    }
}
