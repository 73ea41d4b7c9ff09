package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Row kernels for layer norm (statistics in float lanes added in lane order) and RMS norm (statistics in double). */
public final class Norms {
    private Norms() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * Rows per block of the layer-norm backward: each block sums its rows' weight and bias gradients into a partial
     * of its own, and the partials are added in block order, so the result does not depend on the thread count.
     */
    static final int LN_BLOCK_ROWS = 32;

    /**
     * y = (x - mean) * rstd * w + b per row of length n; stores mean and rstd per row. w/b may be null. The row
     * statistics are float lane sums added in lane order ({@link VectorMath#sumLanes}), so a scalar loop over
     * lane-strided partial sums gives the same bits (NormsTest holds that twin).
     */
    public static void layerNormForward(float[] x, int xo, float[] y, int yo, int rows, int n, float[] w, float[] b, float eps,
                                        float[] mean, float[] rstd) {
        // a missing weight is ones and a missing bias zeros (exact: v * 1 + 0 = v), so the row loop has one form: a
        // vector chosen at a merge point may be boxed by the JIT
        float[] wf = w != null ? w : ones(n), bf = b != null ? b : new float[n];
        Parallel.forRange(rows, 4L * n, (from, to) -> {
            for (int r = from; r < to; r++) layerNormRow(x, xo + r * n, y, yo + r * n, n, wf, bf, eps, mean, rstd, r);
        });
    }

    private static void layerNormRow(float[] x, int o, float[] y, int q, int n, float[] w, float[] b, float eps,
                                     float[] mean, float[] rstd, int r) {
        int bound = S.loopBound(n), j = 0;
        var acc = FloatVector.zero(S);
        for (; j < bound; j += S.length()) acc = acc.add(FloatVector.fromArray(S, x, o + j));
        float s = VectorMath.sumLanes(acc);
        for (; j < n; j++) s += x[o + j];
        float m = s / n;
        var sq = FloatVector.zero(S);
        for (j = 0; j < bound; j += S.length()) {
            var d = FloatVector.fromArray(S, x, o + j).sub(m);
            sq = d.fma(d, sq);
        }
        float ss = VectorMath.sumLanes(sq);
        for (; j < n; j++) { float d = x[o + j] - m; ss = Math.fma(d, d, ss); }
        float rs = (float) (1 / Math.sqrt(ss / n + eps));
        mean[r] = m;
        rstd[r] = rs;
        for (j = 0; j < bound; j += S.length())
            FloatVector.fromArray(S, x, o + j).sub(m).mul(rs).fma(FloatVector.fromArray(S, w, j), FloatVector.fromArray(S, b, j))
                    .intoArray(y, q + j);
        for (; j < n; j++) y[q + j] = Math.fma((x[o + j] - m) * rs, w[j], b[j]);
    }

    /**
     * Gradients of layer norm: dx per row (written in full; dx may be null), and dw, db summed over rows (each may
     * be null; overwritten, not accumulated). Row blocks of {@link #LN_BLOCK_ROWS} run in parallel, each with its
     * own dw/db partial; the partials are added in block order.
     */
    public static void layerNormBackward(float[] g, int go, float[] x, int xo, int rows, int n, float[] w, float[] mean, float[] rstd,
                                         float[] dx, float[] dw, float[] db) {
        int blocks = (rows + LN_BLOCK_ROWS - 1) / LN_BLOCK_ROWS;
        float[] pw = new float[blocks * n], pb = new float[blocks * n], wf = w != null ? w : ones(n);
        Parallel.forRange(blocks, 8L * LN_BLOCK_ROWS * n, (from, to) -> {
            float[] gw = new float[n], xhat = new float[n];
            for (int blk = from; blk < to; blk++) {
                int end = Math.min(rows, (blk + 1) * LN_BLOCK_ROWS);
                for (int r = blk * LN_BLOCK_ROWS; r < end; r++)
                    layerNormBackwardRow(g, go + r * n, x, xo + r * n, n, wf, mean[r], rstd[r], dx, r * n,
                            pw, pb, blk * n, gw, xhat);
            }
        });
        if (dw != null) sumBlocks(pw, blocks, n, dw);
        if (db != null) sumBlocks(pb, blocks, n, db);
    }

    private static void layerNormBackwardRow(float[] g, int q, float[] x, int o, int n, float[] w, float m, float rs,
                                             float[] dx, int d, float[] pw, float[] pb, int p, float[] gw, float[] xhat) {
        int bound = S.loopBound(n), j = 0;
        var sDy = FloatVector.zero(S);
        var sDyX = FloatVector.zero(S);
        for (; j < bound; j += S.length()) {
            var gv = FloatVector.fromArray(S, g, q + j);
            var xh = FloatVector.fromArray(S, x, o + j).sub(m).mul(rs);
            var dy = gv.mul(FloatVector.fromArray(S, w, j));
            sDy = sDy.add(dy);
            sDyX = dy.fma(xh, sDyX);
            xh.intoArray(xhat, j);
            dy.intoArray(gw, j);
            gv.fma(xh, FloatVector.fromArray(S, pw, p + j)).intoArray(pw, p + j);
            gv.add(FloatVector.fromArray(S, pb, p + j)).intoArray(pb, p + j);
        }
        float sumDy = VectorMath.sumLanes(sDy), sumDyX = VectorMath.sumLanes(sDyX);
        for (; j < n; j++) {
            float xh = (x[o + j] - m) * rs, dy = g[q + j] * w[j];
            sumDy += dy;
            sumDyX = Math.fma(dy, xh, sumDyX);
            xhat[j] = xh;
            gw[j] = dy;
            pw[p + j] = Math.fma(g[q + j], xh, pw[p + j]);
            pb[p + j] += g[q + j];
        }
        if (dx == null) return;
        float a = sumDy / n, c = sumDyX / n;
        for (j = 0; j < bound; j += S.length())
            FloatVector.fromArray(S, gw, j).sub(a).sub(FloatVector.fromArray(S, xhat, j).mul(c)).mul(rs).intoArray(dx, d + j);
        for (; j < n; j++) dx[d + j] = (gw[j] - a - xhat[j] * c) * rs;
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }

    /** out[j] = sum over blocks of part[blk * n + j], added in block order. */
    private static void sumBlocks(float[] part, int blocks, int n, float[] out) {
        java.util.Arrays.fill(out, 0f);
        for (int blk = 0; blk < blocks; blk++) {
            int p = blk * n, j = 0;
            for (; j < S.loopBound(n); j += S.length())
                FloatVector.fromArray(S, out, j).add(FloatVector.fromArray(S, part, p + j)).intoArray(out, j);
            for (; j < n; j++) out[j] += part[p + j];
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
