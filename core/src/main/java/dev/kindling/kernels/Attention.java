package dev.kindling.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused scaled-dot-product attention over contiguous [BH, T, D] arrays. Forward keeps only the log-sum-exp
 * of each score row; backward recomputes the probabilities from it (as FlashAttention does), so no
 * [T, T] tensor lives between forward and backward. Causal masking with Tq &lt;= Tk aligns the last query
 * with the last key (query i sees keys up to i + Tk - Tq), which is what decoding with a KV cache needs.
 */
public final class Attention {
    private Attention() {}

    /**
     * Query rows per block under a causal mask: a block multiplies only by the keys its last row sees, which skips
     * the hidden upper triangle (about 40% of the score work at T = 256) while keeping each GEMM large enough to
     * run at full speed.
     */
    static final int CAUSAL_ROWS = 64;

    /** Keys visible to query row i: all of them, or those up to i + tk - tq under a causal mask. */
    private static int visible(int i, int tq, int tk, boolean causal) {
        return causal ? Math.min(tk, Math.max(0, i + tk - tq + 1)) : tk;
    }

    /** out[bh] = softmax(q k^T * scale (+ causal mask)) v; lse[bh * tq + i] receives each row's log-sum-exp. */
    public static void forward(float[] q, float[] k, float[] v, float[] out, float[] lse, int bh, int tq, int tk, int d,
                               float scale, boolean causal) {
        int rowsPerBlock = causal ? CAUSAL_ROWS : Math.max(tq, 1);
        Parallel.forRange(bh, 2L * tq * tk * d, (from, to) -> {
            float[] s = new float[Math.min(rowsPerBlock, tq) * tk];
            for (int b = from; b < to; b++) {
                int qo = b * tq * d, ko = b * tk * d;
                for (int i0 = 0; i0 < tq; i0 += rowsPerBlock) {
                    int rows = Math.min(rowsPerBlock, tq - i0), keys = visible(i0 + rows - 1, tq, tk, causal);
                    if (keys == 0) { // no keys at all (tk = 0): zero output, as the GEMM over an empty k gives
                        Arrays.fill(out, qo + i0 * d, qo + (i0 + rows) * d, 0f);
                        Arrays.fill(lse, b * tq + i0, b * tq + i0 + rows, Float.NEGATIVE_INFINITY);
                        continue;
                    }
                    // s is rows x keys with leading dimension keys: only the columns some row of the block sees
                    Gemm.sgemm(false, true, rows, keys, d, scale, q, qo + i0 * d, d, k, ko, d, 0f, s, 0, keys);
                    for (int i = 0; i < rows; i++) {
                        int vis = visible(i0 + i, tq, tk, causal), r = i * keys;
                        if (vis < keys) Arrays.fill(s, r + vis, r + keys, 0f);
                        if (vis == 0) {
                            lse[b * tq + i0 + i] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        float l = Softmax.logSumExp(s, r, vis);
                        lse[b * tq + i0 + i] = l;
                        Softmax.expShifted(s, r, vis, l);
                    }
                    Gemm.sgemm(false, false, rows, d, keys, 1f, s, 0, keys, v, ko, d, 0f, out, qo + i0 * d, d);
                }
            }
        });
    }

    /** Gradients dq, dk, dv (overwritten) from dout, recomputing the probabilities from lse. */
    public static void backward(float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                float[] dq, float[] dk, float[] dv, int bh, int tq, int tk, int d, float scale, boolean causal) {
        int rowsPerBlock = causal ? CAUSAL_ROWS : Math.max(tq, 1);
        Parallel.forRange(bh, 5L * tq * tk * d, (from, to) -> {
            int cap = Math.min(rowsPerBlock, tq) * tk;
            float[] p = new float[cap], dp = new float[cap];
            for (int b = from; b < to; b++) {
                int qo = b * tq * d, ko = b * tk * d;
                // dk and dv sum over the row blocks
                Arrays.fill(dk, ko, ko + tk * d, 0f);
                Arrays.fill(dv, ko, ko + tk * d, 0f);
                for (int i0 = 0; i0 < tq; i0 += rowsPerBlock) {
                    int rows = Math.min(rowsPerBlock, tq - i0), keys = visible(i0 + rows - 1, tq, tk, causal);
                    int qb = qo + i0 * d;
                    if (keys == 0) {
                        Arrays.fill(dq, qb, qb + rows * d, 0f);
                        continue;
                    }
                    Gemm.sgemm(false, true, rows, keys, d, scale, q, qb, d, k, ko, d, 0f, p, 0, keys);
                    for (int i = 0; i < rows; i++) {
                        int vis = visible(i0 + i, tq, tk, causal), r = i * keys;
                        if (vis > 0) Softmax.expShifted(p, r, vis, lse[b * tq + i0 + i]);
                        Arrays.fill(p, r + vis, r + keys, 0f);
                    }
                    // dv += p^T dout
                    Gemm.sgemm(true, false, keys, d, rows, 1f, p, 0, keys, dout, qb, d, 1f, dv, ko, d);
                    // dp = dout v^T
                    Gemm.sgemm(false, true, rows, keys, d, 1f, dout, qb, d, v, ko, d, 0f, dp, 0, keys);
                    // ds = p * (dp - rowsum(dout * out)), scaled
                    for (int i = 0; i < rows; i++) {
                        double delta = 0;
                        int ro = qb + i * d;
                        for (int c = 0; c < d; c++) delta += (double) dout[ro + c] * out[ro + c];
                        scoreGrad(p, dp, i * keys, keys, (float) delta, scale);
                    }
                    Gemm.sgemm(false, false, rows, d, keys, 1f, dp, 0, keys, k, ko, d, 0f, dq, qb, d);
                    // dk += ds^T q
                    Gemm.sgemm(true, false, keys, d, rows, 1f, dp, 0, keys, q, qb, d, 1f, dk, ko, d);
                }
            }
        });
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** dp[r..r+n) = p * (dp - delta) * scale: the softmax backward of one score row. */
    private static void scoreGrad(float[] p, float[] dp, int r, int n, float delta, float scale) {
        int j = 0, bound = S.loopBound(n);
        for (; j < bound; j += S.length()) {
            var pv = FloatVector.fromArray(S, p, r + j);
            pv.mul(FloatVector.fromArray(S, dp, r + j).sub(delta)).mul(scale).intoArray(dp, r + j);
        }
        for (; j < n; j++) dp[r + j] = p[r + j] * (dp[r + j] - delta) * scale;
    }
}
