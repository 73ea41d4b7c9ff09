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

    /** out[bh] = softmax(q k^T * scale (+ causal mask)) v; lse[bh * tq + i] receives each row's log-sum-exp. */
    public static void forward(float[] q, float[] k, float[] v, float[] out, float[] lse, int bh, int tq, int tk, int d,
                               float scale, boolean causal) {
        int shift = tk - tq;
        Parallel.forRange(bh, 2L * tq * tk * d, (from, to) -> {
            float[] s = new float[tq * tk];
            for (int b = from; b < to; b++) {
                int qo = b * tq * d, ko = b * tk * d;
                Gemm.sgemm(false, true, tq, tk, d, scale, q, qo, d, k, ko, d, 0f, s, 0, tk);
                for (int i = 0; i < tq; i++) {
                    int visible = causal ? Math.min(tk, Math.max(0, i + shift + 1)) : tk;
                    int r = i * tk;
                    if (visible < tk) Arrays.fill(s, r + visible, r + tk, 0f);
                    if (visible == 0) {
                        lse[b * tq + i] = Float.NEGATIVE_INFINITY;
                        continue;
                    }
                    float l = Softmax.logSumExp(s, r, visible);
                    lse[b * tq + i] = l;
                    Softmax.expShifted(s, r, visible, l);
                }
                Gemm.sgemm(false, false, tq, d, tk, 1f, s, 0, tk, v, ko, d, 0f, out, qo, d);
            }
        });
    }

    /** Gradients dq, dk, dv (overwritten) from dout, recomputing the probabilities from lse. */
    public static void backward(float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                float[] dq, float[] dk, float[] dv, int bh, int tq, int tk, int d, float scale, boolean causal) {
        int shift = tk - tq;
        Parallel.forRange(bh, 5L * tq * tk * d, (from, to) -> {
            float[] p = new float[tq * tk], dp = new float[tq * tk];
            for (int b = from; b < to; b++) {
                int qo = b * tq * d, ko = b * tk * d;
                Gemm.sgemm(false, true, tq, tk, d, scale, q, qo, d, k, ko, d, 0f, p, 0, tk);
                for (int i = 0; i < tq; i++) {
                    int visible = causal ? Math.min(tk, Math.max(0, i + shift + 1)) : tk;
                    int r = i * tk;
                    float l = lse[b * tq + i];
                    if (visible > 0) Softmax.expShifted(p, r, visible, l);
                    Arrays.fill(p, r + Math.max(visible, 0), r + tk, 0f);
                }
                // dv = p^T dout
                Gemm.sgemm(true, false, tk, d, tq, 1f, p, 0, tk, dout, qo, d, 0f, dv, ko, d);
                // dp = dout v^T
                Gemm.sgemm(false, true, tq, tk, d, 1f, dout, qo, d, v, ko, d, 0f, dp, 0, tk);
                // ds = p * (dp - rowsum(dout * out)), scaled
                for (int i = 0; i < tq; i++) {
                    double delta = 0;
                    for (int c = 0; c < d; c++) delta += (double) dout[qo + i * d + c] * out[qo + i * d + c];
                    int r = i * tk;
                    float dl = (float) delta;
                    scoreGrad(p, dp, r, tk, dl, scale);
                }
                Gemm.sgemm(false, false, tq, d, tk, 1f, dp, 0, tk, k, ko, d, 0f, dq, qo, d);
                Gemm.sgemm(true, false, tk, d, tq, 1f, dp, 0, tk, q, qo, d, 0f, dk, ko, d);
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
