package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Losses against values computed by hand (in double) and finite differences. */
class LossesTest {
    private static final double TOL = 1e-5;
    // three samples of four classes
    private static final float[][] X = {{1, 2, 3, 0.5f}, {1, -1, 0.5f, 0}, {-2, 0.25f, 0.75f, 3}};

    private static Tensor logits() {
        float[] a = new float[12];
        for (int i = 0; i < 3; i++) System.arraycopy(X[i], 0, a, i * 4, 4);
        return Tensor.fromArray(a, 3, 4).requiresGrad(true);
    }

    private static Tensor targets(long... t) {
        return Tensor.fromLongs(t, t.length);
    }

    private static double lse(float[] row) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (float v : row) m = Math.max(m, v);
        for (float v : row) s += Math.exp(v - m);
        return m + Math.log(s);
    }

    /** PyTorch's per-sample loss with label smoothing eps: (1-eps)(lse - x_t) + eps (lse - mean_c x_c). */
    private static double ce(float[] row, int t, double eps) {
        double mean = 0;
        for (float v : row) mean += v / (double) row.length;
        return (1 - eps) * (lse(row) - row[t]) + eps * (lse(row) - mean);
    }

    @Test
    void crossEntropyMeanSumAndNone() {
        double l0 = ce(X[0], 2, 0), l1 = ce(X[1], 0, 0), l2 = ce(X[2], 3, 0);
        assertEquals(0.4607734891568512, l0, 1e-12, "hand value: log(1 + e^-1 + e^-2 + e^-2.5)");
        Tensor t = targets(2, 0, 3);
        assertEquals((l0 + l1 + l2) / 3, new CrossEntropyLoss().forward(logits(), t).item(), TOL);
        assertEquals(l0 + l1 + l2, new CrossEntropyLoss(-100, 0, Reduction.SUM).forward(logits(), t).item(), TOL);
        Tensor none = new CrossEntropyLoss(-100, 0, Reduction.NONE).forward(logits(), t);
        assertArrayEquals(new int[] {3}, none.shape());
        assertArrayEquals(new float[] {(float) l0, (float) l1, (float) l2}, none.toFloatArray(), (float) TOL);
        // a single sample: logits [C] and a 0-dim target
        assertEquals(l1, Functional.crossEntropy(Tensor.fromArray(X[1], 4), Tensor.fromLongs(new long[] {0})).item(), TOL);
        for (Reduction r : Reduction.values()) {
            Tensor x = logits();
            FiniteDifferences.check("crossEntropy " + r, () -> new CrossEntropyLoss(-100, 0, r).forward(x, t), x);
        }
    }

    @Test
    void crossEntropyIgnoreIndexAveragesOverTheRest() {
        Tensor t = targets(2, -100, 3);
        double l0 = ce(X[0], 2, 0), l2 = ce(X[2], 3, 0);
        assertEquals((l0 + l2) / 2, new CrossEntropyLoss().forward(logits(), t).item(), TOL);
        Tensor none = new CrossEntropyLoss(-100, 0, Reduction.NONE).forward(logits(), t);
        assertEquals(0, none.get(1), 0, "an ignored sample has loss 0");
        // a custom ignore index that is a valid class
        Tensor t1 = targets(1, 1, 3);
        assertEquals(l2, new CrossEntropyLoss(1, 0, Reduction.MEAN).forward(logits(), t1).item(), TOL);
        Tensor x = logits();
        Tensor loss = new CrossEntropyLoss().forward(x, t);
        loss.backward();
        assertArrayEquals(new float[4], x.grad().select(0, 1).toFloatArray(), 0f, "no gradient for an ignored sample");
        Tensor x2 = logits();
        FiniteDifferences.check("crossEntropy ignoreIndex", () -> new CrossEntropyLoss().forward(x2, t), x2);
        // everything ignored: the mean of nothing is NaN, as in PyTorch
        assertTrue(Float.isNaN(new CrossEntropyLoss().forward(logits(), targets(-100, -100, -100)).item()));
    }

    @Test
    void crossEntropyLabelSmoothing() {
        double eps = 0.1;
        Tensor t = targets(2, 0, 3);
        double want = (ce(X[0], 2, eps) + ce(X[1], 0, eps) + ce(X[2], 3, eps)) / 3;
        assertEquals(want, new CrossEntropyLoss(-100, eps, Reduction.MEAN).forward(logits(), t).item(), TOL);
        Tensor tIgnore = targets(2, -100, 3);
        double wantIgnore = (ce(X[0], 2, eps) + ce(X[2], 3, eps)) / 2;
        assertEquals(wantIgnore, new CrossEntropyLoss(-100, eps, Reduction.MEAN).forward(logits(), tIgnore).item(), TOL);
        assertEquals(ce(X[0], 2, eps) + ce(X[2], 3, eps), new CrossEntropyLoss(-100, eps, Reduction.SUM).forward(logits(), tIgnore).item(), TOL);
        for (Reduction r : Reduction.values()) {
            Tensor x = logits();
            FiniteDifferences.check("crossEntropy smoothing " + r, () -> new CrossEntropyLoss(-100, 0.2, r).forward(x, tIgnore), x);
        }
        assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss(-100, 1.5, Reduction.MEAN).forward(logits(), t));
    }

    @Test
    void crossEntropyIsStableForHugeLogits() {
        Tensor x = Tensor.fromArray(new float[] {1000, 0, -1000, 0, 1000, 1000}, 2, 3).requiresGrad(true);
        Tensor loss = new CrossEntropyLoss(-100, 0, Reduction.NONE).forward(x, targets(2, 1));
        assertArrayEquals(new float[] {2000, (float) Math.log(2)}, loss.toFloatArray(), 1e-3f);
        loss.sum().backward();
        for (float g : x.grad().toFloatArray()) assertTrue(Float.isFinite(g));
    }

    @Test
    void crossEntropyRejectsBadTargetsNamingTheShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss().forward(logits(), targets(1, 2)));
        assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[3, 4]"), e.getMessage());
        var oob = assertThrows(IndexOutOfBoundsException.class, () -> new CrossEntropyLoss().forward(logits(), targets(1, 4, 0)));
        assertTrue(oob.getMessage().contains("target 4 at position 1"), oob.getMessage());
        var f = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss().forward(logits(), Tensor.zeros(3)));
        assertTrue(f.getMessage().contains("FLOAT32"), f.getMessage());
        var rank = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss().forward(Tensor.zeros(2, 3, 4), targets(1, 2)));
        assertTrue(rank.getMessage().contains("[2, 3, 4]"), rank.getMessage());
    }

    @Test
    void nllLossOnLogSoftmaxEqualsCrossEntropy() {
        Tensor t = targets(2, -100, 3);
        Tensor x = logits();
        double want = (ce(X[0], 2, 0) + ce(X[2], 3, 0)) / 2;
        assertEquals(want, new NLLLoss().forward(x.logSoftmax(1), t).item(), TOL);
        assertEquals(2 * want, new NLLLoss(-100, Reduction.SUM).forward(x.logSoftmax(1), t).item(), TOL);
        Tensor lp = Tensor.fromArray(new float[] {-0.5f, -1, -2, -0.1f}, 2, 2).requiresGrad(true);
        assertArrayEquals(new float[] {1, 0.1f}, new NLLLoss(-100, Reduction.NONE).forward(lp, targets(1, 1)).toFloatArray(), 1e-6f);
        FiniteDifferences.check("nllLoss", () -> new NLLLoss().forward(lp, targets(1, 0)), lp);
        var e = assertThrows(IllegalArgumentException.class, () -> new NLLLoss().forward(lp, targets(1, 0, 1)));
        assertTrue(e.getMessage().contains("[2, 2]") && e.getMessage().contains("[3]"), e.getMessage());
    }

    @Test
    void mseAndL1() {
        Tensor a = Tensor.fromArray(new float[] {1, 2, 3, 4}, 2, 2).requiresGrad(true);
        Tensor b = Tensor.fromArray(new float[] {1.5f, 0, 3, 6}, 2, 2);
        assertEquals((0.25 + 4 + 0 + 4) / 4, new MSELoss().forward(a, b).item(), TOL);
        assertEquals(0.25 + 4 + 0 + 4, new MSELoss(Reduction.SUM).forward(a, b).item(), TOL);
        assertArrayEquals(new float[] {0.25f, 4, 0, 4}, new MSELoss(Reduction.NONE).forward(a, b).toFloatArray(), 1e-6f);
        assertEquals((0.5 + 2 + 0 + 2) / 4, new L1Loss().forward(a, b).item(), TOL);
        assertEquals(4.5, new L1Loss(Reduction.SUM).forward(a, b).item(), TOL);
        Tensor x = Tensor.randn(new Generator(1), 3, 5).requiresGrad(true), y = Tensor.randn(new Generator(2), 3, 5);
        FiniteDifferences.check("mseLoss", () -> new MSELoss().forward(x, y), x);
        Tensor far = Tensor.randn(new Generator(3), 3, 5).add(y.mul(0)).add(5).detach().requiresGrad(true); // |far - y| well away from 0
        FiniteDifferences.check("l1Loss", () -> new L1Loss().forward(far, y), far);
        var e = assertThrows(IllegalArgumentException.class, () -> new MSELoss().forward(Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 2]"), e.getMessage());
        var e1 = assertThrows(IllegalArgumentException.class, () -> new L1Loss().forward(Tensor.zeros(4), Tensor.zeros(4, 1)));
        assertTrue(e1.getMessage().contains("[4]") && e1.getMessage().contains("[4, 1]"), e1.getMessage());
    }

    private static double bce(double x, double y, double pw) {
        return -(pw * y * Math.log(1 / (1 + Math.exp(-x))) + (1 - y) * Math.log(1 - 1 / (1 + Math.exp(-x))));
    }

    @Test
    void bceWithLogits() {
        float[] xs = {0.5f, -1.25f, 2, 0.1f}, ys = {1, 0, 0.3f, 1};
        Tensor x = Tensor.fromArray(xs, 4).requiresGrad(true), y = Tensor.fromArray(ys, 4);
        double mean = 0;
        float[] none = new BCEWithLogitsLoss(null, Reduction.NONE).forward(x, y).toFloatArray();
        for (int i = 0; i < 4; i++) {
            assertEquals(bce(xs[i], ys[i], 1), none[i], TOL, "element " + i);
            mean += bce(xs[i], ys[i], 1) / 4;
        }
        assertEquals(0.4740769841801067, bce(0.5, 1, 1), 1e-12, "log(1 + e^-0.5)");
        assertEquals(mean, new BCEWithLogitsLoss().forward(x, y).item(), TOL);
        Tensor pw = Tensor.fromArray(new float[] {2, 2, 0.5f, 3}, 4);
        float[] weighted = new BCEWithLogitsLoss(pw, Reduction.NONE).forward(x, y).toFloatArray();
        float[] pwv = pw.toFloatArray();
        for (int i = 0; i < 4; i++) assertEquals(bce(xs[i], ys[i], pwv[i]), weighted[i], TOL, "posWeight element " + i);
        FiniteDifferences.check("bceWithLogits", () -> new BCEWithLogitsLoss().forward(x, y), x);
        FiniteDifferences.check("bceWithLogits posWeight", () -> new BCEWithLogitsLoss(pw, Reduction.SUM).forward(x, y), x);
        var e = assertThrows(IllegalArgumentException.class, () -> new BCEWithLogitsLoss().forward(x, Tensor.zeros(2, 2)));
        assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[2, 2]"), e.getMessage());
    }

    @Test
    void bceWithLogitsIsFiniteAtExtremeLogits() {
        Tensor x = Tensor.fromArray(new float[] {100, 100, -100, -100}, 4).requiresGrad(true);
        Tensor y = Tensor.fromArray(new float[] {1, 0, 1, 0}, 4);
        Tensor loss = new BCEWithLogitsLoss(null, Reduction.NONE).forward(x, y);
        assertArrayEquals(new float[] {0, 100, 100, 0}, loss.toFloatArray(), 1e-4f);
        loss.sum().backward();
        // d/dx = sigmoid(x) - y
        assertArrayEquals(new float[] {0, 1, -1, 0}, x.grad().toFloatArray(), 1e-6f);
        Tensor pw = Tensor.fromArray(new float[] {3, 3, 3, 3}, 4);
        Tensor weighted = new BCEWithLogitsLoss(pw, Reduction.NONE).forward(x, y);
        assertArrayEquals(new float[] {0, 100, 300, 0}, weighted.toFloatArray(), 1e-3f);
        assertTrue(Float.isFinite(new BCEWithLogitsLoss().forward(x, y).item()));
        // integer targets are accepted (converted to float)
        Tensor yi = Tensor.fromLongs(new long[] {1, 0, 1, 0}, 4);
        assertEquals(50, new BCEWithLogitsLoss().forward(x, yi).item(), 1e-4);
        assertEquals(DType.FLOAT32, new BCEWithLogitsLoss().forward(x, yi).dtype());
    }
}
