package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** PyTorch's default initialisations, checked empirically on big tensors. */
class InitTest {
    /** min, max, mean, std (population) of the values. */
    private static double[] stats(Tensor t) {
        float[] a = t.toFloatArray();
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, s = 0, ss = 0;
        for (float v : a) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            s += v;
        }
        double mean = s / a.length;
        for (float v : a) ss += (v - mean) * (v - mean);
        return new double[] {min, max, mean, Math.sqrt(ss / a.length)};
    }

    /** Uniform(-bound, bound): inside the bound, reaching close to it, mean 0 and std bound/sqrt(3). */
    private static void assertUniform(String what, Tensor t, double bound, double stdTolerance) {
        double[] s = stats(t);
        assertTrue(s[0] >= -bound && s[1] <= bound, what + ": values [" + s[0] + ", " + s[1] + "] outside +-" + bound);
        assertTrue(s[0] < -0.95 * bound && s[1] > 0.95 * bound, what + ": values [" + s[0] + ", " + s[1] + "] do not reach +-" + bound);
        assertEquals(0, s[2], 5 * bound / Math.sqrt(3.0 * t.numel()), what + ": mean (5 standard errors)");
        assertEquals(bound / Math.sqrt(3), s[3], stdTolerance * bound / Math.sqrt(3), what + ": std");
    }

    @Test
    void linearWeightAndBiasAreUniformWithBoundOneOverSqrtFanIn() {
        var m = new Linear(400, 500, true, new Generator(1));
        double bound = 1 / Math.sqrt(400);
        assertUniform("Linear weight", m.weight, bound, 0.01);
        assertUniform("Linear bias", m.bias, bound, 0.1);
    }

    @Test
    void embeddingIsStandardNormalAndNormsStartAtOnesAndZeros() {
        var e = new Embedding(1000, 100, new Generator(2));
        double[] s = stats(e.weight);
        assertEquals(0, s[2], 0.01);
        assertEquals(1, s[3], 0.01);
        assertTrue(s[0] < -3.5 && s[1] > 3.5, "normal tails reach past 3.5 sigma in 1e5 draws");

        var ln = new LayerNorm(7);
        assertArrayEquals(Tensor.ones(7).toFloatArray(), ln.weight.toFloatArray(), 0f);
        assertArrayEquals(Tensor.zeros(7).toFloatArray(), ln.bias.toFloatArray(), 0f);
        assertArrayEquals(Tensor.ones(5).toFloatArray(), new RMSNorm(5).weight.toFloatArray(), 0f);
    }

    @Test
    void initialisersFollowTorchNnInitFormulas() {
        Generator g = new Generator(3);
        // conv-shaped weight [out, in, kh, kw]: fan_in = in * kh * kw = 288, fan_out = out * kh * kw = 576
        Tensor w = Tensor.zeros(64, 32, 3, 3);
        assertArrayEquals(new int[] {288, 576}, Init.fans(w));
        assertUniform("xavierUniform", Init.xavierUniform(w, 1, g), Math.sqrt(6.0 / (288 + 576)), 0.02);
        assertUniform("kaimingUniform relu", Init.kaimingUniform(w, 0, "relu", true, g), Math.sqrt(2) * Math.sqrt(3.0 / 288), 0.02);
        assertUniform("kaimingUniform fan_out", Init.kaimingUniform(w, 0, "relu", false, g), Math.sqrt(2) * Math.sqrt(3.0 / 576), 0.02);

        double[] kn = stats(Init.kaimingNormal(w, 0, "relu", true, g));
        assertEquals(Math.sqrt(2.0 / 288), kn[3], 0.02 * Math.sqrt(2.0 / 288));
        double[] xn = stats(Init.xavierNormal(w, 5.0 / 3, g));
        assertEquals(5.0 / 3 * Math.sqrt(2.0 / (288 + 576)), xn[3], 0.02 * 5.0 / 3 * Math.sqrt(2.0 / (288 + 576)));
        double[] nm = stats(Init.normal(Tensor.zeros(100_000), 2, 0.5, g));
        assertEquals(2, nm[2], 0.01);
        assertEquals(0.5, nm[3], 0.01);

        assertEquals(Math.sqrt(2), Init.gain("relu", 0), 1e-12);
        assertEquals(5.0 / 3, Init.gain("tanh", 0), 1e-12);
        assertEquals(Math.sqrt(2 / (1 + 0.01 * 0.01)), Init.gain("leaky_relu", 0.01), 1e-12);
        assertEquals(1, Init.gain("linear", 0), 0);
        assertThrows(IllegalArgumentException.class, () -> Init.gain("softmax", 0));
        var e = assertThrows(IllegalArgumentException.class, () -> Init.xavierUniform(Tensor.zeros(5), 1, g));
        assertTrue(e.getMessage().contains("[5]"), e.getMessage());
        assertArrayEquals(new float[] {0.25f, 0.25f}, Init.constant(Tensor.zeros(2), 0.25).toFloatArray(), 0f);
    }

    @Test
    void theSameSeedGivesTheSameWeights() {
        var a = new Linear(30, 20, true, new Generator(9));
        var b = new Linear(30, 20, true, new Generator(9));
        var c = new Linear(30, 20, true, new Generator(10));
        assertArrayEquals(a.weight.toFloatArray(), b.weight.toFloatArray(), 0f);
        assertArrayEquals(a.bias.toFloatArray(), b.bias.toFloatArray(), 0f);
        assertTrue(!java.util.Arrays.equals(a.weight.toFloatArray(), c.weight.toFloatArray()));
    }
}
