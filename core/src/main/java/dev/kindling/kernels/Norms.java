package dev.kindling.kernels;

/** Row kernels for layer norm and RMS norm, forward and backward (statistics in double). */
public final class Norms {
    private Norms() {}

    /** y = (x - mean) * rstd * w + b per row of length n; stores mean and rstd per row. w/b may be null. */
    public static void layerNormForward(float[] x, int xo, float[] y, int yo, int rows, int n, float[] w, float[] b, float eps,
                                        float[] mean, float[] rstd) {
        Parallel.forRange(rows, 4L * n, (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = xo + r * n;
                double s = 0;
                for (int j = 0; j < n; j++) s += x[o + j];
                double mu = s / n;
                double ss = 0;
                for (int j = 0; j < n; j++) { double d = x[o + j] - mu; ss += d * d; }
                float rs = (float) (1 / Math.sqrt(ss / n + eps));
                float m = (float) mu;
                mean[r] = m;
                rstd[r] = rs;
                int q = yo + r * n;
                for (int j = 0; j < n; j++) {
                    float v = (x[o + j] - m) * rs;
                    if (w != null) v *= w[j];
                    if (b != null) v += b[j];
                    y[q + j] = v;
                }
            }
        });
    }

    /** Gradients of layer norm: dx per row, and dw, db summed over rows (dw/db may be null). */
    public static void layerNormBackward(float[] g, int go, float[] x, int xo, int rows, int n, float[] w, float[] mean, float[] rstd,
                                         float[] dx, float[] dw, float[] db) {
        for (int r = 0; r < rows; r++) {
            int o = xo + r * n, q = go + r * n;
            float m = mean[r], rs = rstd[r];
            double sumDy = 0, sumDyXhat = 0;
            for (int j = 0; j < n; j++) {
                float xhat = (x[o + j] - m) * rs;
                float dy = g[q + j] * (w == null ? 1f : w[j]);
                sumDy += dy;
                sumDyXhat += dy * xhat;
                if (dw != null) dw[j] += g[q + j] * xhat;
                if (db != null) db[j] += g[q + j];
            }
            float a = (float) (sumDy / n), c = (float) (sumDyXhat / n);
            if (dx != null)
                for (int j = 0; j < n; j++) {
                    float xhat = (x[o + j] - m) * rs;
                    float dy = g[q + j] * (w == null ? 1f : w[j]);
                    dx[r * n + j] = rs * (dy - a - xhat * c);
                }
        }
    }

    /** y = x * rrms * w per row; stores rrms = 1/sqrt(mean(x^2) + eps). */
    public static void rmsNormForward(float[] x, int xo, float[] y, int yo, int rows, int n, float[] w, float eps, float[] rrms) {
        Parallel.forRange(rows, 3L * n, (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = xo + r * n;
                double ss = 0;
                for (int j = 0; j < n; j++) ss += (double) x[o + j] * x[o + j];
                float rr = (float) (1 / Math.sqrt(ss / n + eps));
                rrms[r] = rr;
                int q = yo + r * n;
                for (int j = 0; j < n; j++) y[q + j] = x[o + j] * rr * (w == null ? 1f : w[j]);
            }
        });
    }

    public static void rmsNormBackward(float[] g, int go, float[] x, int xo, int rows, int n, float[] w, float[] rrms,
                                       float[] dx, float[] dw) {
        for (int r = 0; r < rows; r++) {
            int o = xo + r * n, q = go + r * n;
            float rr = rrms[r];
            double dot = 0;
            for (int j = 0; j < n; j++) {
                float gw = g[q + j] * (w == null ? 1f : w[j]);
                dot += gw * x[o + j];
                if (dw != null) dw[j] += g[q + j] * x[o + j] * rr;
            }
            float c = (float) (dot / n) * rr * rr * rr;
            if (dx != null)
                for (int j = 0; j < n; j++) dx[r * n + j] = g[q + j] * (w == null ? 1f : w[j]) * rr - x[o + j] * c;
        }
    }
}
