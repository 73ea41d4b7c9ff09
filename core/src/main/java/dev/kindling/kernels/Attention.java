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

    /**
     * Where head bh's rows live: q, k, v and out (and their gradients, which share those layouts) start at
     * {@code base + bh-dependent offset} with {@code ld} floats between rows. Contiguous [BH, T, D] arrays, or
     * GPT's packed [B, T, 3C] projection and [B, T, C] output, read in place without transposing copies.
     */
    private record Layout(int heads, int batchQ, int batchK, int batchO, int headStride, int kShift, int vShift,
                          int ldIn, int ldOut) {
        static Layout contiguous(int tq, int tk, int d) {
            return new Layout(1, tq * d, tk * d, tq * d, 0, 0, 0, d, d);
        }

        /** qkv [B, T, 3 * heads * d] (q, then k, then v along the last dim), out [B, T, heads * d]. */
        static Layout packed(int t, int heads, int d) {
            int c = heads * d;
            return new Layout(heads, t * 3 * c, t * 3 * c, t * c, d, c, 2 * c, 3 * c, c);
        }

        int q(int bh) { return bh / heads * batchQ + bh % heads * headStride; }
        int k(int bh) { return bh / heads * batchK + bh % heads * headStride + kShift; }
        int v(int bh) { return bh / heads * batchK + bh % heads * headStride + vShift; }
        int o(int bh) { return bh / heads * batchO + bh % heads * headStride; }
    }

    /** out[bh] = softmax(q k^T * scale (+ causal mask)) v; lse[bh * tq + i] receives each row's log-sum-exp. */
    public static void forward(float[] q, float[] k, float[] v, float[] out, float[] lse, int bh, int tq, int tk, int d,
                               float scale, boolean causal) {
        forward(Layout.contiguous(tq, tk, d), q, k, v, out, lse, bh, tq, tk, d, scale, causal);
    }

    /**
     * Causal self-attention on GPT's packed projection: qkv [B, T, 3C] holds q, k and v of every head side by side
     * (head h at columns h * d of each third, C = heads * d); out [B, T, C] receives the heads side by side, as the
     * output projection wants them. lse [B * heads * T].
     */
    public static void forwardPacked(float[] qkv, float[] out, float[] lse, int b, int t, int heads, int d, float scale) {
        forward(Layout.packed(t, heads, d), qkv, qkv, qkv, out, lse, b * heads, t, t, d, scale, true);
    }

    private static void forward(Layout l, float[] q, float[] k, float[] v, float[] out, float[] lse, int bh, int tq,
                                int tk, int d, float scale, boolean causal) {
        int rowsPerBlock = causal ? CAUSAL_ROWS : Math.max(tq, 1);
        int ldi = l.ldIn, ldo = l.ldOut;
        Parallel.forRange(bh, 2L * tq * tk * d, (from, to) -> {
            float[] s = new float[Math.min(rowsPerBlock, tq) * tk];
            for (int b = from; b < to; b++) {
                int qo = l.q(b), ko = l.k(b), vo = l.v(b), oo = l.o(b);
                for (int i0 = 0; i0 < tq; i0 += rowsPerBlock) {
                    int rows = Math.min(rowsPerBlock, tq - i0), keys = visible(i0 + rows - 1, tq, tk, causal);
                    if (keys == 0) { // no keys at all (tk = 0): zero output, as the GEMM over an empty k gives
                        for (int i = i0; i < i0 + rows; i++) Arrays.fill(out, oo + i * ldo, oo + i * ldo + d, 0f);
                        Arrays.fill(lse, b * tq + i0, b * tq + i0 + rows, Float.NEGATIVE_INFINITY);
                        continue;
                    }
                    // s is rows x keys with leading dimension keys: only the columns some row of the block sees
                    Gemm.sgemm(false, true, rows, keys, d, scale, q, qo + i0 * ldi, ldi, k, ko, ldi, 0f, s, 0, keys);
                    for (int i = 0; i < rows; i++) {
                        int vis = visible(i0 + i, tq, tk, causal), r = i * keys;
                        if (vis == 0) {
                            Arrays.fill(s, r, r + keys, 0f);
                            lse[b * tq + i0 + i] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        int vr = maskToVector(s, r, vis, keys);
                        lse[b * tq + i0 + i] = softmaxRow(s, r, vr);
                    }
                    Gemm.sgemm(false, false, rows, d, keys, 1f, s, 0, keys, v, vo, ldi, 0f, out, oo + i0 * ldo, ldo);
                }
            }
        });
    }

    /** Gradients dq, dk, dv (overwritten) from dout, recomputing the probabilities from lse. */
    public static void backward(float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                float[] dq, float[] dk, float[] dv, int bh, int tq, int tk, int d, float scale, boolean causal) {
        backward(Layout.contiguous(tq, tk, d), q, k, v, out, lse, dout, dq, dk, dv, bh, tq, tk, d, scale, causal);
    }

    /** The gradient of {@link #forwardPacked}: dqkv [B, T, 3C] (overwritten) from dout [B, T, C]. */
    public static void backwardPacked(float[] qkv, float[] out, float[] lse, float[] dout, float[] dqkv, int b, int t,
                                      int heads, int d, float scale) {
        backward(Layout.packed(t, heads, d), qkv, qkv, qkv, out, lse, dout, dqkv, dqkv, dqkv, b * heads, t, t, d, scale, true);
    }

    private static void backward(Layout l, float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                 float[] dq, float[] dk, float[] dv, int bh, int tq, int tk, int d, float scale,
                                 boolean causal) {
        int rowsPerBlock = causal ? CAUSAL_ROWS : Math.max(tq, 1);
        int ldi = l.ldIn, ldo = l.ldOut;
        Parallel.forRange(bh, 5L * tq * tk * d, (from, to) -> {
            int cap = Math.min(rowsPerBlock, tq) * tk;
            float[] p = new float[cap], dp = new float[cap];
            for (int b = from; b < to; b++) {
                int qo = l.q(b), ko = l.k(b), vo = l.v(b), oo = l.o(b);
                // dk and dv sum over the row blocks
                for (int j = 0; j < tk; j++) {
                    Arrays.fill(dk, ko + j * ldi, ko + j * ldi + d, 0f);
                    Arrays.fill(dv, vo + j * ldi, vo + j * ldi + d, 0f);
                }
                for (int i0 = 0; i0 < tq; i0 += rowsPerBlock) {
                    int rows = Math.min(rowsPerBlock, tq - i0), keys = visible(i0 + rows - 1, tq, tk, causal);
                    int qb = qo + i0 * ldi, ob = oo + i0 * ldo;
                    if (keys == 0) {
                        for (int i = 0; i < rows; i++) Arrays.fill(dq, qb + i * ldi, qb + i * ldi + d, 0f);
                        continue;
                    }
                    Gemm.sgemm(false, true, rows, keys, d, scale, q, qb, ldi, k, ko, ldi, 0f, p, 0, keys);
                    for (int i = 0; i < rows; i++) {
                        int vis = visible(i0 + i, tq, tk, causal), r = i * keys;
                        if (vis > 0) Softmax.expShifted(p, r, maskToVector(p, r, vis, keys), lse[b * tq + i0 + i]);
                        else Arrays.fill(p, r, r + keys, 0f);
                    }
                    // dv += p^T dout
                    Gemm.sgemm(true, false, keys, d, rows, 1f, p, 0, keys, dout, ob, ldo, 1f, dv, vo, ldi);
                    // dp = dout v^T
                    Gemm.sgemm(false, true, rows, keys, d, 1f, dout, ob, ldo, v, vo, ldi, 0f, dp, 0, keys);
                    // ds = p * (dp - rowsum(dout * out)), scaled
                    for (int i = 0; i < rows; i++) {
                        double delta = 0;
                        int ro = ob + i * ldo;
                        for (int c = 0; c < d; c++) delta += (double) dout[ro + c] * out[ro + c];
                        scoreGrad(p, dp, i * keys, keys, (float) delta, scale);
                    }
                    Gemm.sgemm(false, false, rows, d, keys, 1f, dp, 0, keys, k, ko, ldi, 0f, dq, qb, ldi);
                    // dk += ds^T q
                    Gemm.sgemm(true, false, keys, d, rows, 1f, dp, 0, keys, q, qb, ldi, 1f, dk, ko, ldi);
                }
            }
        });
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * Prepares score row s[r, r + keys) whose first vis entries are visible for an exp pass over whole vectors:
     * the hidden scores up to the next multiple of the vector length (within the row) become -inf, whose exp is 0,
     * and the rest 0. Returns the length to run the exp kernels over. Short causal rows otherwise spent a third of
     * their exp time in the scalar tail.
     */
    static int maskToVector(float[] s, int r, int vis, int keys) {
        int vr = Math.min(keys, (vis + S.length() - 1) / S.length() * S.length());
        Arrays.fill(s, r + vis, r + vr, Float.NEGATIVE_INFINITY);
        Arrays.fill(s, r + vr, r + keys, 0f);
        return vr;
    }

    /**
     * Softmax of score row s[r, r + n) in place; returns its log-sum-exp. One exp pass (exp(x - max), then a
     * multiply by 1 / sum) instead of a log-sum-exp pass and an exp pass: exp was most of the row work.
     */
    static float softmaxRow(float[] s, int r, int n) {
        float m = Softmax.max(s, r, n);
        if (Float.isInfinite(m)) { // all hidden (or an infinite score): as exp(x - lse) gives it
            Softmax.expShifted(s, r, n, m);
            return m;
        }
        Softmax.expShifted(s, r, n, m);
        float sum = Elementwise.sum(s, r, 1, n);
        float inv = 1f / sum;
        int j = 0, bound = S.loopBound(n);
        for (; j < bound; j += S.length()) FloatVector.fromArray(S, s, r + j).mul(inv).intoArray(s, r + j);
        for (; j < n; j++) s[r + j] *= inv;
        return (float) (m + Math.log(sum));
    }

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
