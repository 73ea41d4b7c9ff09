package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** MaskedAttention against a scalar loop in double precision, on interleaved heads and broadcast masks. */
@ExtendWith(TwoKernelThreads.class)
class MaskedAttentionTest {
    @Test
    void fusedQkvRowsWithKeyPaddingMask() {
        // Q, K, V as the three thirds of one [B * T, 3 * H * D] projection; mask [B, T] of 0 / -1e4
        var rnd = new SplittableRandom(1);
        int b = 3, h = 5, t = 7, d = 6, w = h * d;
        float[] qkv = random(rnd, b * t * 3 * w);
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) for (int j = t - i; j < t; j++) mask[i * t + j] = -1e4f;
        float[] out = new float[b * t * w + 1];
        MaskedAttention.forward(b, h, t, t, d, 0.4f, qkv, 0, 3 * w, qkv, w, 3 * w, qkv, 2 * w, 3 * w,
                mask, 0, new int[] {t, 0, 0, 1}, out, 1, w);
        float[] expected = reference(b, h, t, t, d, 0.4f, qkv, 0, 3 * w, qkv, w, 3 * w, qkv, 2 * w, 3 * w, mask, 0, new int[] {t, 0, 0, 1}, w);
        assertEquals(0f, out[0], "element before outOff is untouched");
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out[1 + i], 1e-5, "at " + i);
    }

    @Test
    void fullMaskAndNoMaskWithDifferentQueryAndKeyLengths() {
        var rnd = new SplittableRandom(2);
        int b = 2, h = 3, tq = 5, tk = 9, d = 17, w = h * d;
        float[] q = random(rnd, b * tq * w), k = random(rnd, b * tk * w), v = random(rnd, b * tk * w);
        float[] mask = random(rnd, b * h * tq * tk);
        int[] strides = {h * tq * tk, tq * tk, tk, 1};
        for (float[] m : new float[][] {mask, null}) {
            float[] out = new float[b * tq * w];
            MaskedAttention.forward(b, h, tq, tk, d, 0.25f, q, 0, w, k, 0, w, v, 0, w, m, 0, strides, out, 0, w);
            float[] expected = reference(b, h, tq, tk, d, 0.25f, q, 0, w, k, 0, w, v, 0, w, m, 0, strides, w);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out[i], 1e-5, "at " + i + " mask " + (m != null));
        }
    }

    @Test
    void headsOfWholeVectorsRunOnRegisterTilesWithOddTokenCounts() {
        // head sizes 16, 32, 48 are whole vectors at every width: the tiled path, with query and key counts that leave
        // row and key-vector tails (and 130 keys: two full 64-key tiles and a tail)
        var rnd = new SplittableRandom(3);
        for (int d : new int[] {16, 32, 48})
            for (int[] tqk : new int[][] {{67, 67}, {5, 130}, {1, 3}}) {
                int b = 2, h = 3, tq = tqk[0], tk = tqk[1], w = h * d;
                float[] q = random(rnd, b * tq * w), kv = random(rnd, b * tk * 2 * w);
                float[] mask = new float[b * tk];
                for (int j = tk - 2; j < tk; j++) mask[tk + j] = -1e30f; // batch 1: two padding keys
                int[] strides = {tk, 0, 0, 1};
                float[] out = new float[b * tq * w];
                MaskedAttention.forward(b, h, tq, tk, d, 0.3f, q, 0, w, kv, 0, 2 * w, kv, w, 2 * w, mask, 0, strides, out, 0, w, true);
                float[] expected = reference(b, h, tq, tk, d, 0.3f, q, 0, w, kv, 0, 2 * w, kv, w, 2 * w, mask, 0, strides, w);
                for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out[i], 1e-5, "d " + d + " tq " + tq + " tk " + tk + " at " + i);
                // a mask that differs per query (strides {0, 0, tk, 1}): each block of queries reads its own rows
                float[] causal = new float[tq * tk];
                for (int i = 0; i < tq; i++) for (int j = i + 1; j < tk; j++) causal[i * tk + j] = -1e30f;
                int[] perQuery = {0, 0, tk, 1};
                MaskedAttention.forward(b, h, tq, tk, d, 0.3f, q, 0, w, kv, 0, 2 * w, kv, w, 2 * w, causal, 0, perQuery, out, 0, w, true);
                expected = reference(b, h, tq, tk, d, 0.3f, q, 0, w, kv, 0, 2 * w, kv, w, 2 * w, causal, 0, perQuery, w);
                for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out[i], 1e-5, "causal d " + d + " tq " + tq + " tk " + tk + " at " + i);
            }
    }

    @Test
    void rejectsBadArgumentsNamingTheValues() {
        float[] x = new float[24];
        var e = assertThrows(IllegalArgumentException.class,
                () -> MaskedAttention.forward(1, 2, 3, 3, 4, 1f, x, 0, 7, x, 0, 8, x, 0, 8, null, 0, null, x, 0, 8));
        assertTrue(e.getMessage().contains("Q leading dimension 7 < heads * d = 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MaskedAttention.forward(1, 2, 3, 3, 4, 1f, x, 1, 8, x, 0, 8, x, 0, 8, null, 0, null, x, 0, 8));
        assertTrue(e.getMessage().contains("Q (3 rows of 8, ld 8) at offset 1 spans [1, 25) but the array has 24"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MaskedAttention.forward(1, 2, 3, 3, 4, 1f, x, 0, 8, x, 0, 8, x, 0, 8, new float[2], 0, new int[] {3, 0, 0, 1}, x, 0, 8));
        assertTrue(e.getMessage().contains("reaches element 2 but has 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MaskedAttention.forward(1, 2, 3, 0, 4, 1f, x, 0, 8, x, 0, 8, x, 0, 8, null, 0, null, x, 0, 8));
        assertTrue(e.getMessage().contains("tk=0"), e.getMessage());
    }

    private static float[] reference(int b, int h, int tq, int tk, int d, float scale, float[] q, int qOff, int ldq,
                                     float[] k, int kOff, int ldk, float[] v, int vOff, int ldv, float[] mask, int maskOff,
                                     int[] ms, int ldo) {
        float[] out = new float[b * tq * ldo];
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int i = 0; i < tq; i++) {
                    double[] s = new double[tk];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < tk; j++) {
                        double dot = 0;
                        for (int c = 0; c < d; c++)
                            dot += (double) q[qOff + (bi * tq + i) * ldq + hi * d + c] * k[kOff + (bi * tk + j) * ldk + hi * d + c];
                        s[j] = scale * dot + (mask == null ? 0 : mask[maskOff + bi * ms[0] + hi * ms[1] + i * ms[2] + j * ms[3]]);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int c = 0; c < d; c++) {
                        double acc = 0;
                        for (int j = 0; j < tk; j++) acc += s[j] / sum * v[vOff + (bi * tk + j) * ldv + hi * d + c];
                        out[(bi * tq + i) * ldo + hi * d + c] = (float) acc;
                    }
                }
        return out;
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
