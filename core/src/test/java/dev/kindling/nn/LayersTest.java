package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** Every layer: forward against a hand computation, backward against finite differences. */
class LayersTest {
    private static final float TOL = 1e-5f;

    private static Tensor input(long seed, int... shape) {
        return Tensor.randn(new Generator(seed), shape).requiresGrad(true);
    }

    /** Inputs kept at least 0.1 away from 0, where ReLU, L1 and abs have their kink. */
    private static Tensor awayFromZero(long seed, int... shape) {
        Tensor t = Tensor.randn(new Generator(seed), shape);
        float[] a = t.floatData();
        for (int i = 0; i < a.length; i++) a[i] = a[i] < 0 ? a[i] - 0.1f : a[i] + 0.1f;
        return t.requiresGrad(true);
    }

    @Test
    void linear() {
        var m = new Linear(4, 3, true, new Generator(1));
        Tensor x = input(2, 5, 4);
        float[] w = m.weight.toFloatArray(), b = m.bias.toFloatArray(), xv = x.toFloatArray(), y = m.forward(x).toFloatArray();
        assertArrayEquals(new int[] {5, 3}, m.forward(x).shape());
        for (int n = 0; n < 5; n++)
            for (int o = 0; o < 3; o++) {
                double s = b[o];
                for (int i = 0; i < 4; i++) s += (double) xv[n * 4 + i] * w[o * 4 + i];
                assertEquals(s, y[n * 3 + o], TOL, "y[" + n + ", " + o + "]");
            }
        FiniteDifferences.check("Linear", () -> m.forward(x), x, m.weight, m.bias);
        // any number of leading dims, and no bias
        var nb = new Linear(4, 2, false, new Generator(3));
        Tensor x3 = input(4, 2, 3, 4);
        assertArrayEquals(new int[] {2, 3, 2}, nb.forward(x3).shape());
        FiniteDifferences.check("Linear without bias, 3-d input", () -> nb.forward(x3), x3, nb.weight);
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.zeros(5, 3)));
        assertTrue(e.getMessage().contains("[5, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Linear(0, 3));
    }

    private static void pointwise(String name, Module m, DoubleUnaryOperator f, Tensor x) {
        float[] xv = x.toFloatArray(), y = m.forward(x).toFloatArray();
        for (int i = 0; i < xv.length; i++) assertEquals(f.applyAsDouble(xv[i]), y[i], TOL, name + "(" + xv[i] + ")");
        FiniteDifferences.check(name, () -> m.forward(x), x);
    }

    @Test
    void activations() {
        pointwise("ReLU", new ReLU(), v -> Math.max(v, 0), awayFromZero(1, 3, 7));
        pointwise("Tanh", new Tanh(), Math::tanh, input(2, 3, 7));
        pointwise("Sigmoid", new Sigmoid(), v -> 1 / (1 + Math.exp(-v)), input(3, 3, 7));
        pointwise("SiLU", new SiLU(), v -> v / (1 + Math.exp(-v)), input(4, 3, 7));
        pointwise("GELU tanh", new GELU("tanh"), v -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), input(5, 3, 7));
        pointwise("Identity", new Identity(), v -> v, input(6, 3, 7));
        // exact GELU = x * Phi(x): values of the normal CDF from tables
        Tensor g = new GELU().forward(Tensor.fromArray(new float[] {1, -0.5f, 2, 0}, 4));
        assertArrayEquals(new float[] {0.8413447f, -0.15426877f, 1.9544997f, 0f}, g.toFloatArray(), TOL);
        Tensor gx = input(7, 3, 7);
        FiniteDifferences.check("GELU", () -> new GELU().forward(gx), gx);
        assertThrows(IllegalArgumentException.class, () -> new GELU("fast"));
        assertEquals(0f, new ReLU().forward(Tensor.fromArray(new float[] {-3}, 1)).get(0));
        assertTrue(Float.isNaN(new ReLU().forward(Tensor.fromArray(new float[] {Float.NaN}, 1)).get(0)), "relu(NaN) stays NaN");
    }

    @Test
    void flattenKeepsTheBatchDim() {
        Tensor x = input(1, 2, 3, 4);
        Tensor y = new Flatten().forward(x);
        assertArrayEquals(new int[] {2, 12}, y.shape());
        assertArrayEquals(x.toFloatArray(), y.toFloatArray(), 0f);
        assertArrayEquals(new int[] {6, 4}, new Flatten(0, 1).forward(x).shape());
        FiniteDifferences.check("Flatten", () -> new Flatten().forward(x), x);
    }

    @Test
    void dropoutScalesKeptValuesAndIsTheIdentityInEval() {
        var d = new Dropout(0.25, new Generator(1));
        Tensor x = Tensor.ones(100, 100).requiresGrad(true);
        Tensor y = d.forward(x);
        float[] yv = y.toFloatArray();
        int kept = 0;
        for (float v : yv) {
            assertTrue(v == 0f || Math.abs(v - 1 / 0.75f) < 1e-6, "dropout value " + v);
            if (v != 0) kept++;
        }
        assertEquals(0.75, kept / 1e4, 0.02);
        // gradient: the same mask and scale
        y.sum().backward();
        assertArrayEquals(yv, x.grad().toFloatArray(), 0f);
        // a new mask each call, the same masks for the same seed
        assertTrue(!java.util.Arrays.equals(yv, d.forward(x).toFloatArray()));
        assertArrayEquals(yv, new Dropout(0.25, new Generator(1)).forward(x).toFloatArray(), 0f);
        d.eval();
        Tensor xe = input(2, 4, 5);
        assertArrayEquals(xe.toFloatArray(), d.forward(xe).toFloatArray(), 0f);
        FiniteDifferences.check("Dropout in eval", () -> d.forward(xe), xe);
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1.5));
    }

    @Test
    void layerNorm() {
        var m = new LayerNorm(new int[] {5}, 1e-5, true);
        Init.normal(m.weight, 1, 0.5, new Generator(1));
        Init.normal(m.bias, 0, 0.5, new Generator(2));
        Tensor x = input(3, 2, 3, 5);
        float[] xv = x.toFloatArray(), w = m.weight.toFloatArray(), b = m.bias.toFloatArray(), y = m.forward(x).toFloatArray();
        for (int r = 0; r < 6; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < 5; i++) mean += xv[r * 5 + i] / 5.0;
            for (int i = 0; i < 5; i++) var += Math.pow(xv[r * 5 + i] - mean, 2) / 5;
            for (int i = 0; i < 5; i++)
                assertEquals((xv[r * 5 + i] - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i], y[r * 5 + i], 1e-5, "row " + r);
        }
        FiniteDifferences.check("LayerNorm", () -> m.forward(x), x, m.weight, m.bias);
        // over the last two dims, without bias
        var m2 = new LayerNorm(new int[] {3, 5}, 1e-5, false);
        Init.normal(m2.weight, 1, 0.5, new Generator(4));
        FiniteDifferences.check("LayerNorm [3, 5] without bias", () -> m2.forward(x), x, m2.weight);
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("[2, 4]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    @Test
    void rmsNorm() {
        var m = new RMSNorm(6, 1e-6);
        Init.normal(m.weight, 1, 0.5, new Generator(1));
        Tensor x = input(2, 4, 6);
        float[] xv = x.toFloatArray(), w = m.weight.toFloatArray(), y = m.forward(x).toFloatArray();
        for (int r = 0; r < 4; r++) {
            double ms = 0;
            for (int i = 0; i < 6; i++) ms += xv[r * 6 + i] * (double) xv[r * 6 + i] / 6;
            for (int i = 0; i < 6; i++) assertEquals(xv[r * 6 + i] / Math.sqrt(ms + 1e-6) * w[i], y[r * 6 + i], 1e-5, "row " + r);
        }
        FiniteDifferences.check("RMSNorm", () -> m.forward(x), x, m.weight);
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.zeros(2, 5)));
        assertTrue(e.getMessage().contains("[6]"), e.getMessage());
    }

    @Test
    void embedding() {
        var m = new Embedding(7, 3, new Generator(1));
        Tensor ids = Tensor.fromLongs(new long[] {4, 0, 4, 6, 1, 2}, 2, 3);
        Tensor y = m.forward(ids);
        assertArrayEquals(new int[] {2, 3, 3}, y.shape());
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++) assertEquals(m.weight.get((int) ids.toLongArray()[i], j), y.get(i / 3, i % 3, j), 0f);
        FiniteDifferences.check("Embedding", () -> m.forward(ids), m.weight);
        // a repeated id accumulates both gradients
        m.weight.zeroGrad();
        m.forward(ids).sum().backward();
        assertArrayEquals(new float[] {2, 2, 2}, m.weight.grad().select(0, 4).toFloatArray(), 0f);
        assertArrayEquals(new float[] {0, 0, 0}, m.weight.grad().select(0, 3).toFloatArray(), 0f);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> m.forward(Tensor.fromLongs(new long[] {1, 7}, 2)));
        assertTrue(e.getMessage().contains("id 7 at position 1"), e.getMessage());
        // -1 is not "the last row" (PyTorch rejects it too)
        assertThrows(IndexOutOfBoundsException.class, () -> m.forward(Tensor.fromLongs(new long[] {-1}, 1)));
        var fl = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.zeros(2)));
        assertTrue(fl.getMessage().contains("FLOAT32"), fl.getMessage());
    }

    @Test
    void sequentialChainsAndNamesByIndex() {
        var g = new Generator(1);
        var seq = new Sequential(new Linear(4, 6, true, g), new Tanh(), new Linear(6, 2, true, g));
        Tensor x = input(2, 3, 4);
        Tensor want = ((Linear) seq.get(2)).forward(((Linear) seq.get(0)).forward(x).tanh());
        assertArrayEquals(want.toFloatArray(), seq.forward(x).toFloatArray(), 0f);
        assertEquals(3, seq.size());
        assertEquals(java.util.List.of("0.weight", "0.bias", "2.weight", "2.bias"), new java.util.ArrayList<>(seq.namedParameters().keySet()));
        Linear first = (Linear) seq.get(0);
        FiniteDifferences.check("Sequential", () -> seq.forward(x), x, first.weight);
    }
}
