package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static final float[] SPECIAL = {0f, -0f, 1f, -1f, 88.7f, 88.8f, -87.3f, -87.4f, -100f, 100f, 1e-8f, -1e-8f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.34657359f, -0.34657359f, 0.625f, -0.625f,
            0.62500006f, 1e-3f, -1e-4f, 1e-30f};

    private static float[] inputs() {
        Random r = new Random(1);
        float[] x = new float[4096];
        for (int i = 0; i < x.length; i++) x[i] = i < SPECIAL.length ? SPECIAL[i] : (float) (r.nextGaussian() * 20);
        return x;
    }

    @Test
    void vectorAndScalarTwinsAgreeBitForBit() {
        float[] x = inputs();
        var s = FloatVector.SPECIES_PREFERRED;
        float[] e = new float[s.length()], t = new float[s.length()], g = new float[s.length()];
        for (int i = 0; i + s.length() <= x.length; i += s.length()) {
            var v = FloatVector.fromArray(s, x, i);
            VectorMath.exp(v).intoArray(e, 0);
            VectorMath.tanh(v).intoArray(t, 0);
            VectorMath.sigmoid(v).intoArray(g, 0);
            float[] ge = new float[s.length()], gd = new float[s.length()];
            VectorMath.gelu(v).intoArray(ge, 0);
            VectorMath.geluDerivative(v).intoArray(gd, 0);
            for (int j = 0; j < s.length(); j++) {
                assertEquals(Float.floatToIntBits(VectorMath.gelu(x[i + j])), Float.floatToIntBits(ge[j]), "gelu(" + x[i + j] + ")");
                assertEquals(Float.floatToIntBits(VectorMath.geluDerivative(x[i + j])), Float.floatToIntBits(gd[j]), "gelu'(" + x[i + j] + ")");
            }
            for (int j = 0; j < s.length(); j++) {
                float xi = x[i + j];
                assertEquals(Float.floatToIntBits(VectorMath.exp(xi)), Float.floatToIntBits(e[j]), "exp(" + xi + ")");
                assertEquals(Float.floatToIntBits(VectorMath.tanh(xi)), Float.floatToIntBits(t[j]), "tanh(" + xi + ")");
                assertEquals(Float.floatToIntBits(VectorMath.sigmoid(xi)), Float.floatToIntBits(g[j]), "sigmoid(" + xi + ")");
            }
        }
    }

    /** The lane sum from a stored vector has the bits of the lane sum from the vector (Softmax relies on it). */
    @Test
    void sumInOrderMatchesSumLanes() {
        var species = FloatVector.SPECIES_PREFERRED;
        var rnd = new Random(9);
        for (int t = 0; t < 100; t++) {
            float[] lanes = new float[species.length()];
            for (int i = 0; i < lanes.length; i++) lanes[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 6));
            float viaVector = VectorMath.sumLanes(FloatVector.fromArray(species, lanes, 0));
            assertEquals(Float.floatToRawIntBits(viaVector), Float.floatToRawIntBits(VectorMath.sumInOrder(lanes)));
        }
    }

    @Test
    void tanhKeepsItsRelativePrecisionNearZero() {
        // tanh(x) ~ x: an absolute error that is fine at 1 is total at 1e-8
        for (float x : new float[] {1e-8f, -1e-6f, 1e-4f, -1e-3f, 0.01f, 0.1f, -0.5f, 0.625f, 0.63f, -0.7f, 1.5f, 3f}) {
            double want = Math.tanh(x);
            assertEquals(want, VectorMath.tanh(x), 2.5e-7 * Math.abs(want), "tanh(" + x + ")");
        }
        Random r = new Random(2);
        for (int i = 0; i < 20_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(6) - 4));
            double want = Math.tanh(x);
            assertEquals(want, VectorMath.tanh(x), 2.5e-7 * Math.abs(want), "tanh(" + x + ")");
        }
    }

    @Test
    void geluIsCloseToTheErfForm() {
        for (float x : inputs()) {
            if (!Float.isFinite(x) || Math.abs(x) > 30) continue;
            double cdf = 0.5 * (1 + Elementwise.erf(x / Math.sqrt(2)));
            double pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            assertEquals(x * cdf, VectorMath.gelu(x), 2e-7 * (1 + Math.abs(x)), "gelu(" + x + ")");
            assertEquals(cdf + x * pdf, VectorMath.geluDerivative(x), 4e-7 * (1 + x * x), "gelu'(" + x + ")");
        }
    }

    @Test
    void closeToTheLibraryFunctions() {
        for (float x : inputs()) {
            double want = Math.exp(x);
            float got = VectorMath.exp(x);
            if (Double.isNaN(want)) assertEquals(Float.NaN, got);
            else if (want > Float.MAX_VALUE) assertEquals(Float.POSITIVE_INFINITY, got, "exp(" + x + ")");
            else if (want < 1.2e-38) assertEquals(0f, got, 1.2e-38, "exp(" + x + ")");
            else assertEquals(want, got, want * 3e-7, "exp(" + x + ")");
            if (!Float.isNaN(x)) {
                assertEquals(Math.tanh(x), VectorMath.tanh(x), 2e-7, "tanh(" + x + ")");
                assertEquals(1 / (1 + Math.exp(-x)), VectorMath.sigmoid(x), 2e-7, "sigmoid(" + x + ")");
            }
        }
    }
}
