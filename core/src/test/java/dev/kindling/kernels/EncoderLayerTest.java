package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** EncoderLayer against the layer written out as scalar loops in double precision, on odd widths and padded keys. */
@ExtendWith(TwoKernelThreads.class)
class EncoderLayerTest {
    // odd sizes: hidden 15 (3 heads of 5) and inner 37 are not multiples of any vector width
    static final int HEADS = 3, HS = 5, H = HEADS * HS, I = 37;

    record Weights(float[] wqkv, float[] bqkv, float[] wo, float[] bo, float[] g1, float[] b1, float[] wi, float[] bi,
                   float[] wd, float[] bd, float[] g2, float[] b2, int heads, int hs, int inner) {
        static Weights random(SplittableRandom rnd) {
            return random(rnd, HEADS, HS, I);
        }

        static Weights random(SplittableRandom rnd, int heads, int hs, int inner) {
            int h = heads * hs;
            double s = 2 / Math.sqrt(h); // keeps the activations of wider layers in the range of the narrow one
            return new Weights(rand(rnd, 3 * h * h, s), rand(rnd, 3 * h, 0.2), rand(rnd, h * h, s), rand(rnd, h, 0.2),
                    around1(rnd, h), rand(rnd, h, 0.2), rand(rnd, inner * h, s), rand(rnd, inner, 0.2), rand(rnd, h * inner, s * 0.6),
                    rand(rnd, h, 0.2), around1(rnd, h), rand(rnd, h, 0.2), heads, hs, inner);
        }

        int hidden() {
            return heads * hs;
        }

        EncoderLayer layer(Elementwise.Unary act) {
            int h = hidden();
            return new EncoderLayer(heads, hs, proj(wqkv, 3 * h, h), bqkv, proj(wo, h, h), bo, g1, b1, 1e-5f, proj(wi, inner, h), bi, act,
                    proj(wd, h, inner), bd, g2, b2, 1e-6f);
        }
    }

    static EncoderLayer.Projection proj(float[] w, int out, int in) {
        return EncoderLayer.Projection.packed(true, in, out, w, 0, in);
    }

    @Test
    void matchesScalarLayerWithKeyPadding() {
        var rnd = new SplittableRandom(7);
        Weights w = Weights.random(rnd);
        int b = 3, t = 9;
        float[] x = rand(rnd, b * t * H, 1.0);
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) for (int j = t - 2 * i; j < t; j++) mask[i * t + j] = -1e30f; // row i: 2i padding keys
        for (Elementwise.Unary act : new Elementwise.Unary[] {Elementwise.Unary.GELU, Elementwise.Unary.GELU_TANH, Elementwise.Unary.RELU}) {
            float[] y = x.clone();
            var ws = new EncoderLayer.Workspace();
            w.layer(act).forward(y, b, t, mask, new int[] {t, 0, 0, 1}, ws);
            double[] expected = reference(w, act, x, b, t, mask);
            for (int i = 0; i < y.length; i++) assertEquals(expected[i], y[i], 2e-4, act + " element " + i);
            // the workspace, now holding this batch's activations, gives the same result again and on a smaller batch
            float[] again = x.clone();
            w.layer(act).forward(again, b, t, mask, new int[] {t, 0, 0, 1}, ws);
            for (int i = 0; i < y.length; i++) assertEquals(y[i], again[i], 0f, act + " rerun element " + i);
            float[] one = java.util.Arrays.copyOf(x, t * H);
            w.layer(act).forward(one, 1, t, mask, new int[] {t, 0, 0, 1}, ws);
            for (int i = 0; i < one.length; i++) assertEquals(y[i], one[i], 1e-5, act + " batch-1 element " + i);
        }
    }

    @Test
    void noMaskAndManyRowsSplitOverThreads() {
        var rnd = new SplittableRandom(8);
        Weights w = Weights.random(rnd);
        int b = 5, t = 41; // 205 rows: the GEMMs and the row passes split over both threads
        float[] x = rand(rnd, b * t * H, 1.0);
        float[] y = x.clone();
        w.layer(Elementwise.Unary.GELU).forward(y, b, t, null, null, EncoderLayer.Workspace.ofCurrentThread());
        double[] expected = reference(w, Elementwise.Unary.GELU, x, b, t, null);
        for (int i = 0; i < y.length; i++) assertEquals(expected[i], y[i], 2e-4, "element " + i);
    }

    @Test
    void headsOfWholeVectorsRunOnAttentionTiles() {
        // head size 32 is a whole number of vectors at every width, so attention takes AttentionTiles' register
        // tiles; 19 tokens leave query rows past the 4-row tiles and keys past whole vectors (padded), and 3 x 19 =
        // 57 rows take the split path on two threads while 4 x 19 = 76 take the step-by-step one
        var rnd = new SplittableRandom(11);
        Weights w = Weights.random(rnd, 2, 32, 96);
        int t = 19, h = w.hidden();
        for (int b : new int[] {3, 4}) {
            float[] x = rand(rnd, b * t * h, 1.0), mask = new float[b * t];
            for (int i = 0; i < b; i++) for (int j = t - 3 * i; j < t; j++) mask[i * t + j] = -1e30f;
            float[] y = x.clone();
            w.layer(Elementwise.Unary.GELU).forward(y, b, t, mask, new int[] {t, 0, 0, 1}, new EncoderLayer.Workspace());
            double[] expected = reference(w, Elementwise.Unary.GELU, x, b, t, mask);
            for (int i = 0; i < y.length; i++) assertEquals(expected[i], y[i], 2e-4, "batch " + b + " element " + i);
        }
    }

    @Test
    void badShapesAreNamed() {
        Weights w = Weights.random(new SplittableRandom(9));
        var e = assertThrows(IllegalArgumentException.class, () -> new EncoderLayer(HEADS, HS, proj(w.wqkv, 3 * H, H), w.bqkv,
                proj(w.wo, H, H), w.bo, w.g1, w.b1, 1e-5f, proj(w.wi, I, H), w.bi, Elementwise.Unary.GELU, proj(w.wi, I, H), w.bd, w.g2, w.b2, 1e-5f));
        assertTrue(e.getMessage().contains("down projection is [37, 15], expected [15, 37]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new EncoderLayer(HEADS, HS, proj(w.wqkv, 3 * H, H), w.bo,
                proj(w.wo, H, H), w.bo, w.g1, w.b1, 1e-5f, proj(w.wi, I, H), w.bi, Elementwise.Unary.GELU, proj(w.wd, H, I), w.bd, w.g2, w.b2, 1e-5f));
        assertTrue(e.getMessage().contains("qkv bias has 15 values, expected 45"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new EncoderLayer(HEADS, HS, proj(w.wqkv, 3 * H, H), w.bqkv,
                proj(w.wo, H, H), w.bo, w.g1, w.b1, 1e-5f, proj(w.wi, I, H), w.bi, Elementwise.Unary.EXP, proj(w.wd, H, I), w.bd, w.g2, w.b2, 1e-5f));
        assertTrue(e.getMessage().contains("activation EXP"), e.getMessage());
        EncoderLayer layer = w.layer(Elementwise.Unary.GELU);
        e = assertThrows(IllegalArgumentException.class, () -> layer.forward(new float[2 * 3 * H + 1], 2, 3, null, null, new EncoderLayer.Workspace()));
        assertTrue(e.getMessage().contains("x has 91 values, expected batch 2 x tokens 3 x hidden 15"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> layer.forward(new float[2 * 3 * H], 2, 3, new float[5], new int[] {3, 0, 0, 1},
                new EncoderLayer.Workspace()));
        assertTrue(e.getMessage().contains("reaches element 5 but has 5"), e.getMessage());
    }

    @Test
    void columnBlocksAreWholePanelsAndCoverTheOutput() {
        assertEquals(192, EncoderLayer.blockStart(384, 1, 2));
        assertEquals(576, EncoderLayer.blockStart(1152, 1, 2));
        assertEquals(768, EncoderLayer.blockStart(1536, 1, 2));
        assertEquals(0, EncoderLayer.blockStart(15, 1, 2)); // narrower than a panel: one block holds everything
        assertEquals(15, EncoderLayer.blockStart(15, 2, 2));
        // each block of a packed projection equals those columns of the whole product
        var rnd = new SplittableRandom(10);
        int in = 23, out = 200, rows = 5;
        float[] w = rand(rnd, out * in, 1.0), x = rand(rnd, rows * in, 1.0);
        var p = EncoderLayer.Projection.packed(true, in, out, w, 0, in);
        float[] whole = new float[rows * out], split = new float[rows * out];
        p.apply(x, rows, whole, 0f);
        for (int j = 0; j < 3; j++) p.applyBlock(x, rows, split, 0f, j, 3);
        for (int i = 0; i < whole.length; i++) assertEquals(whole[i], split[i], 1e-5, "element " + i);
        var e = assertThrows(IllegalArgumentException.class, () -> p.applyBlock(x, rows, split, 0f, 3, 3));
        assertTrue(e.getMessage().contains("block 3 of 3 does not exist"), e.getMessage());
        EncoderLayer.Projection plain = new EncoderLayer.Projection() {
            public int in() { return in; }
            public int out() { return out; }
            public void apply(float[] x1, int r, float[] y, float beta) { p.apply(x1, r, y, beta); }
        };
        var u = assertThrows(UnsupportedOperationException.class, () -> plain.applyBlock(x, rows, split, 0f, 0, 2));
        assertTrue(u.getMessage().contains("does not split by columns"), u.getMessage());
    }

    /** The layer as plain loops in double: y = x W^T + b with W [out, in] row-major. */
    static double[] reference(Weights w, Elementwise.Unary act, float[] x, int b, int t, float[] mask) {
        int rows = b * t, H = w.hidden(), HS = w.hs, HEADS = w.heads, I = w.inner;
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        double[] qkv = linear(xd, rows, H, w.wqkv, w.bqkv, 3 * H);
        double[] ctx = new double[rows * H];
        double scale = 1 / Math.sqrt(HS);
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < HEADS; h++)
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int c = 0; c < HS; c++) dot += qkv[(bi * t + i) * 3 * H + h * HS + c] * qkv[(bi * t + j) * 3 * H + H + h * HS + c];
                        s[j] = dot * scale + (mask == null ? 0 : mask[bi * t + j]);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < t; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int c = 0; c < HS; c++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) acc += s[j] / sum * qkv[(bi * t + j) * 3 * H + 2 * H + h * HS + c];
                        ctx[(bi * t + i) * H + h * HS + c] = acc;
                    }
                }
        double[] a = linear(ctx, rows, H, w.wo, w.bo, H);
        for (int i = 0; i < a.length; i++) a[i] += xd[i];
        norm(a, rows, w.g1, w.b1, 1e-5);
        double[] f = linear(a, rows, H, w.wi, w.bi, I);
        for (int i = 0; i < f.length; i++) f[i] = activate(act, f[i]);
        double[] y = linear(f, rows, I, w.wd, w.bd, H);
        for (int i = 0; i < y.length; i++) y[i] += a[i];
        norm(y, rows, w.g2, w.b2, 1e-6);
        return y;
    }

    static double activate(Elementwise.Unary act, double v) {
        return switch (act) {
            case GELU -> 0.5 * v * (1 + Elementwise.erf(v / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            case RELU -> Math.max(0, v);
            default -> throw new IllegalArgumentException(act.toString());
        };
    }

    static double[] linear(double[] x, int rows, int in, float[] w, float[] bias, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < out; j++) {
                double acc = bias[j];
                for (int p = 0; p < in; p++) acc += x[r * in + p] * w[j * in + p];
                y[r * out + j] = acc;
            }
        return y;
    }

    static void norm(double[] x, int rows, float[] g, float[] b, double eps) {
        int n = g.length;
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int j = 0; j < n; j++) mean += x[r * n + j] / n;
            for (int j = 0; j < n; j++) var += (x[r * n + j] - mean) * (x[r * n + j] - mean) / n;
            double rstd = 1 / Math.sqrt(var + eps);
            for (int j = 0; j < n; j++) x[r * n + j] = (x[r * n + j] - mean) * rstd * g[j] + b[j];
        }
    }

    static float[] rand(SplittableRandom rnd, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return x;
    }

    static float[] around1(SplittableRandom rnd, int n) {
        float[] x = rand(rnd, n, 0.3);
        for (int i = 0; i < n; i++) x[i] += 1f;
        return x;
    }
}
