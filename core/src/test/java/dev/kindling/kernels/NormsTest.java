package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Layer norm's vector kernels: the forward against its scalar twin (bit for bit), the backward against the
 * formulas in double, over odd widths (vector tails), offsets, missing affine parts and several row blocks; the
 * backward's weight and bias sums do not depend on the thread count.
 */
@ExtendWith(TwoKernelThreads.class)
class NormsTest {
    private static final int[] WIDTHS = {1, 5, 16, 37, 128, 129};
    private static final int[] ROWS = {1, 3, Norms.LN_BLOCK_ROWS + 1, 3 * Norms.LN_BLOCK_ROWS + 7};

    private static float[] random(Random r, int n, double shift) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 2 + shift);
        return a;
    }

    @Test
    void forwardEqualsItsScalarTwin() {
        Random r = new Random(3);
        for (int n : WIDTHS)
            for (int rows : ROWS)
                for (int affine = 0; affine < 4; affine++) {
                    float[] x = random(r, rows * n + 2, 1.5), w = (affine & 1) != 0 ? random(r, n, 0) : null,
                            b = (affine & 2) != 0 ? random(r, n, 0) : null;
                    float[] y = new float[rows * n + 1], y2 = new float[rows * n + 1];
                    float[] m = new float[rows], rs = new float[rows], m2 = new float[rows], rs2 = new float[rows];
                    Norms.layerNormForward(x, 2, y, 1, rows, n, w, b, 1e-5f, m, rs);
                    layerNormForwardScalar(x, 2, y2, 1, rows, n, w, b, 1e-5f, m2, rs2);
                    String at = "n=" + n + " rows=" + rows + " affine=" + affine;
                    assertArrayEquals(y2, y, at);
                    assertArrayEquals(m2, m, at);
                    assertArrayEquals(rs2, rs, at);
                    // and the twin is layer norm: mean and variance in double agree
                    for (int i = 0; i < rows; i++) {
                        double s = 0, ss = 0;
                        for (int j = 0; j < n; j++) s += x[2 + i * n + j];
                        double mu = s / n;
                        for (int j = 0; j < n; j++) ss += Math.pow(x[2 + i * n + j] - mu, 2);
                        assertEquals(mu, m[i], 1e-5 * (1 + Math.abs(mu)), at);
                        assertEquals(1 / Math.sqrt(ss / n + 1e-5), rs[i], 1e-5 * rs[i], at);
                    }
                }
    }

    @Test
    void backwardMatchesTheFormulasAndIsThreadIndependent() {
        Random r = new Random(4);
        for (int n : WIDTHS)
            for (int rows : ROWS) {
                float[] x = random(r, rows * n + 3, -0.5), g = random(r, rows * n + 1, 0), w = random(r, n, 1);
                float[] y = new float[rows * n], mean = new float[rows], rstd = new float[rows];
                Norms.layerNormForward(x, 3, y, 0, rows, n, w, null, 1e-5f, mean, rstd);
                float[] dx = new float[rows * n], dw = new float[n], db = new float[n];
                Norms.layerNormBackward(g, 1, x, 3, rows, n, w, mean, rstd, dx, dw, db);
                String at = "n=" + n + " rows=" + rows;
                double[] wantDw = new double[n], wantDb = new double[n];
                for (int i = 0; i < rows; i++) {
                    double sumDy = 0, sumDyXhat = 0;
                    double[] xhat = new double[n];
                    for (int j = 0; j < n; j++) {
                        xhat[j] = (x[3 + i * n + j] - (double) mean[i]) * rstd[i];
                        double gj = g[1 + i * n + j];
                        sumDy += gj * w[j];
                        sumDyXhat += gj * w[j] * xhat[j];
                        wantDw[j] += gj * xhat[j];
                        wantDb[j] += gj;
                    }
                    for (int j = 0; j < n; j++) {
                        double want = rstd[i] * (g[1 + i * n + j] * w[j] - sumDy / n - xhat[j] * sumDyXhat / n);
                        assertEquals(want, dx[i * n + j], 2e-4 * (1 + Math.abs(want)), at + " dx " + i + "," + j);
                    }
                }
                for (int j = 0; j < n; j++) {
                    assertEquals(wantDw[j], dw[j], 1e-4 * rows, at + " dw " + j);
                    assertEquals(wantDb[j], db[j], 1e-4 * rows, at + " db " + j);
                }
                // one kernel thread gives the same bits
                float[] dx1 = new float[rows * n], dw1 = new float[n], db1 = new float[n];
                Parallel.setThreads(1);
                Norms.layerNormBackward(g, 1, x, 3, rows, n, w, mean, rstd, dx1, dw1, db1);
                Parallel.setThreads(2);
                assertArrayEquals(dx, dx1, at);
                assertArrayEquals(dw, dw1, at);
                assertArrayEquals(db, db1, at);
                // without a weight and with only dx wanted
                float[] dxn = new float[rows * n];
                Norms.layerNormBackward(g, 1, x, 3, rows, n, null, mean, rstd, dxn, null, null);
                for (int i = 0; i < rows; i++) {
                    double sumDy = 0, sumDyXhat = 0;
                    for (int j = 0; j < n; j++) {
                        double xh = (x[3 + i * n + j] - (double) mean[i]) * rstd[i];
                        sumDy += g[1 + i * n + j];
                        sumDyXhat += g[1 + i * n + j] * xh;
                    }
                    for (int j = 0; j < n; j++) {
                        double xh = (x[3 + i * n + j] - (double) mean[i]) * rstd[i];
                        double want = rstd[i] * (g[1 + i * n + j] - sumDy / n - xh * sumDyXhat / n);
                        assertEquals(want, dxn[i * n + j], 2e-4 * (1 + Math.abs(want)), at + " dx without weight");
                    }
                }
            }
    }

    /** The scalar twin of {@link Norms#layerNormForward}: the same float operations in the same order, lane by lane. */
    private static void layerNormForwardScalar(float[] x, int xo, float[] y, int yo, int rows, int n, float[] w, float[] b, float eps,
                                       float[] mean, float[] rstd) {
        int lanes = FloatVector.SPECIES_PREFERRED.length(), bound = n - n % lanes;
        for (int r = 0; r < rows; r++) {
            int o = xo + r * n, q = yo + r * n;
            float[] acc = new float[lanes];
            for (int j = 0; j < bound; j++) acc[j % lanes] += x[o + j];
            float s = 0;
            for (float a : acc) s += a;
            for (int j = bound; j < n; j++) s += x[o + j];
            float m = s / n;
            float[] sq = new float[lanes];
            for (int j = 0; j < bound; j++) { float d = x[o + j] - m; sq[j % lanes] = Math.fma(d, d, sq[j % lanes]); }
            float ss = 0;
            for (float a : sq) ss += a;
            for (int j = bound; j < n; j++) { float d = x[o + j] - m; ss = Math.fma(d, d, ss); }
            float rs = (float) (1 / Math.sqrt(ss / n + eps));
            mean[r] = m;
            rstd[r] = rs;
            for (int j = 0; j < n; j++) {
                float v = (x[o + j] - m) * rs;
                y[q + j] = Math.fma(v, w != null ? w[j] : 1f, b != null ? b[j] : 0f);
            }
        }
    }
}
