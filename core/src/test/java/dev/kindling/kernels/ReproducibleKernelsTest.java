package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kindling.kernels.Elementwise.Unary;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Kernels whose results used to depend on JIT timing (reduceLanes order, Vector API exp/log/tanh lanes) are
 * now defined by IEEE operations in a fixed order. These tests pin that definition exactly, so a return to
 * an order-free reduction or transcendental lanes shows up as a failure, not as an irreproducible run.
 */
class ReproducibleKernelsTest {
    private static final int LANES = Elementwise.S.length();

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 3);
        return a;
    }

    /** Per block of SUM_BLOCK: per-lane float partial sums added in lane order in double; then the tail. */
    private static float laneOrderSum(float[] a, int n) {
        int bound = n - n % LANES;
        double s = 0;
        for (int block = 0; block < bound; block += Elementwise.SUM_BLOCK) {
            float[] lanes = new float[LANES];
            for (int i = block; i < Math.min(bound, block + Elementwise.SUM_BLOCK); i++) lanes[i % LANES] += a[i];
            for (float l : lanes) s += l;
        }
        for (int i = bound; i < n; i++) s += a[i];
        return (float) s;
    }

    @Test
    void sumIsTheLaneOrderSum() {
        for (int n : new int[] {0, 1, LANES - 1, LANES, 3 * LANES + 5, 1000, 1024, 4097, 10_000}) {
            float[] a = random(n, n);
            assertEquals(laneOrderSum(a, n), Elementwise.sum(a, 0, 1, n), 0f, "sum of " + n);
        }
    }

    @Test
    void longSumsKeepTheirDigits() {
        // 4M copies of 0.1f: float accumulators drift by far more than 1e-6 relative
        int n = 1 << 22;
        float[] a = new float[n];
        java.util.Arrays.fill(a, 0.1f);
        assertEquals(n * (double) 0.1f, Elementwise.sum(a, 0, 1, n), 1e-6 * n * 0.1);
    }

    @Test
    void softmaxAndLogSumExpAreDefinedByScalarOperations() {
        for (int n : new int[] {1, 3, LANES, 10, 1000}) {
            float[] x = random(n, 7 + n);
            float m = Float.NEGATIVE_INFINITY;
            for (float v : x) m = Math.max(m, v);
            float[] e = new float[n];
            for (int i = 0; i < n; i++) e[i] = VectorMath.exp(x[i] - m);
            float sum = laneOrderSum(e, n);
            double exact = 0;
            int bound = n - n % LANES;
            float[] lanes = new float[LANES];
            for (int i = 0; i < bound; i++) lanes[i % LANES] += e[i];
            for (float l : lanes) exact += l;
            for (int i = bound; i < n; i++) exact += e[i];
            assertEquals(sum, (float) exact, 0f, "rows this short are one block");
            float inv = (float) (1 / exact);
            float[] want = new float[n];
            for (int i = 0; i < n; i++) want[i] = e[i] * inv;
            float[] got = new float[n];
            Softmax.softmax(x, 0, got, 0, n);
            assertArrayEquals(want, got, 0f, "softmax of " + n);
            assertEquals((float) (m + Math.log(exact)), Softmax.logSumExp(x, 0, n), 0f, "logSumExp of " + n);
            // and close to the math
            double z = 0;
            for (float v : x) z += Math.exp(v - (double) m);
            for (int i = 0; i < n; i++) assertEquals(Math.exp(x[i] - (double) m) / z, got[i], 6e-7 * got[i] + 1e-12);
        }
    }

    @Test
    void transcendentalUnaryOpsEqualTheirScalarOracle() {
        float[] x = random(1001, 11);
        float[] pos = new float[x.length];
        for (int i = 0; i < x.length; i++) pos[i] = Math.abs(x[i]) + 1e-3f;
        for (Unary op : new Unary[] {Unary.EXP, Unary.LOG, Unary.TANH, Unary.SIGMOID, Unary.SILU, Unary.GELU_TANH}) {
            float[] in = op == Unary.LOG ? pos : x;
            float[] got = new float[in.length], want = new float[in.length];
            Elementwise.unary(op, in, 0, 1, got, 0, in.length);
            Elementwise.unaryScalar(op, in, 0, 1, want, 0, in.length);
            assertArrayEquals(want, got, 0f, op.name());
        }
    }
}
