package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OptimKernelsTest {
    private static float[] random(Random r, int n, double scale, boolean positive) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (positive ? Math.abs(r.nextGaussian()) * scale : r.nextGaussian() * scale);
        return a;
    }

    /** Odd lengths (vector body plus tail), and lengths that the pool splits into uneven chunks. */
    @ParameterizedTest
    @CsvSource({"1, false", "7, true", "31, false", "1001, true", "4099, false", "40001, true"})
    void adamMatchesTheDoubleReference(int n, boolean decoupled) {
        Random r = new Random(n);
        float[] p = random(r, n, 1, false), g = random(r, n, 0.1, false), m = random(r, n, 0.01, false), v = random(r, n, 1e-4, true);
        float[] p0 = p.clone(), m0 = m.clone(), p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
        double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        int t = 7;
        double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
        OptimKernels.adam(p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
        OptimKernels.adamReference(p2, g, m2, v2, n, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
        // float rounding is relative to the terms added, which can cancel: the tolerance scales with them
        for (int i = 0; i < n; i++) {
            double gi = g[i] + (decoupled ? 0 : wd * p0[i]);
            assertEquals(m2[i], m[i], 1e-6 * (Math.abs(b1 * m0[i]) + Math.abs((1 - b1) * gi)), "exp_avg at " + i + " of " + n);
            assertEquals(v2[i], v[i], 1e-6 * Math.abs(v2[i]), "exp_avg_sq at " + i + " of " + n);
            assertEquals(p2[i], p[i], 1e-6 * (Math.abs(p0[i]) + Math.abs(p0[i] - p2[i])), "param at " + i + " of " + n);
        }
    }

    /** An element's update must not depend on whether it lands in a vector body or a tail, so not on the thread count. */
    @ParameterizedTest
    @CsvSource({"40001, false", "40003, true"})
    void adamGivesTheSameBitsWithAnyThreadCount(int n, boolean decoupled) {
        Random r = new Random(5);
        float[] p = random(r, n, 1, false), g = random(r, n, 0.1, false), m = new float[n], v = new float[n];
        float[] p1 = p.clone(), m1 = m.clone(), v1 = v.clone();
        int threads = Parallel.threads();
        try {
            Parallel.setThreads(1);
            OptimKernels.adam(p1, g, m1, v1, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 0.1, 0.001);
            Parallel.setThreads(3);
            OptimKernels.adam(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 0.1, 0.001);
        } finally {
            Parallel.setThreads(threads);
        }
        assertArrayEquals(p1, p, 0f);
        assertArrayEquals(m1, m, 0f);
        assertArrayEquals(v1, v, 0f);
    }

    /** The vector kernel gives the scalar twin's bits, with and without momentum, Nesterov and dampening, on two threads. */
    @ParameterizedTest
    @CsvSource({"1, 0.9, false, 0", "7, 0.9, true, 0", "31, 0, false, 0", "1001, 0.9, false, 0.1", "40001, 0.5, true, 0"})
    void sgdGivesTheScalarTwinsBits(int n, float mu, boolean nesterov, float dampening) {
        int saved = Parallel.threads();
        Parallel.setThreads(2);
        try {
            Random r = new Random(n);
            float[] p = random(r, n, 1, false), g = random(r, n, 0.1, false);
            float[] buf = mu != 0 ? new float[n] : null, p2 = p.clone(), buf2 = mu != 0 ? new float[n] : null;
            for (int step = 0; step < 3; step++) { // the first step sets the buffer, later ones blend into it
                OptimKernels.sgd(p, g, buf, n, 0.01f, 1e-4f, mu, dampening, nesterov, step == 0);
                OptimKernels.sgdReference(p2, g, buf2, n, 0.01f, 1e-4f, mu, dampening, nesterov, step == 0);
                assertArrayEquals(p2, p, 0f, "step " + step);
                if (buf != null) assertArrayEquals(buf2, buf, 0f, "buffer, step " + step);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
