package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(TwoKernelThreads.class)
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

    /** All parameters in one pass, split by elements across parameters and threads: exactly adam's result for each. */
    @ParameterizedTest
    @CsvSource({"false", "true"})
    void adamAllEqualsAdamPerParameter(boolean decoupled) {
        Random r = new Random(decoupled ? 3 : 4);
        int[] sizes = {5000, 3, 70001, 1024, 2049, 1};
        int k = sizes.length;
        float[][] p = new float[k][], g = new float[k][], m = new float[k][], v = new float[k][];
        float[][] p1 = new float[k][], m1 = new float[k][], v1 = new float[k][];
        double[] lr = new double[k], wd = new double[k];
        for (int i = 0; i < k; i++) {
            p[i] = random(r, sizes[i], 1, false);
            g[i] = random(r, sizes[i], 0.1, false);
            m[i] = random(r, sizes[i], 0.01, false);
            v[i] = random(r, sizes[i], 1e-4, true);
            p1[i] = p[i].clone();
            m1[i] = m[i].clone();
            v1[i] = v[i].clone();
            lr[i] = i % 2 == 0 ? 1e-3 : 3e-4;
            wd[i] = i % 3 == 0 ? 0 : 0.1;
        }
        double b1 = 0.9, b2 = 0.99, eps = 1e-8, bc1 = 1 - Math.pow(b1, 5), bc2 = 1 - Math.pow(b2, 5);
        OptimKernels.adamAll(p, g, m, v, lr, wd, b1, b2, eps, decoupled, bc1, bc2);
        for (int i = 0; i < k; i++) {
            OptimKernels.adam(p1[i], g[i], m1[i], v1[i], sizes[i], lr[i], b1, b2, eps, wd[i], decoupled, bc1, bc2);
            assertArrayEquals(p1[i], p[i], "param " + i);
            assertArrayEquals(m1[i], m[i], "exp_avg " + i);
            assertArrayEquals(v1[i], v[i], "exp_avg_sq " + i);
        }
    }

    @Test
    void adamAllRejectsMismatchedArraysNamingThem() {
        float[][] one = {new float[4]}, shortGrad = {new float[3]};
        var e = assertThrows(IllegalArgumentException.class, () -> OptimKernels.adamAll(one, shortGrad, one, one,
                new double[] {1e-3}, new double[] {0}, 0.9, 0.999, 1e-8, true, 0.1, 0.001));
        assertTrue(e.getMessage().contains("parameter 0 has 4 elements but its gradient 3"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> OptimKernels.adamAll(one, one, one, one,
                new double[0], new double[] {0}, 0.9, 0.999, 1e-8, true, 0.1, 0.001));
        assertTrue(e2.getMessage().contains("0 learning rates"), e2.getMessage());
    }
}
