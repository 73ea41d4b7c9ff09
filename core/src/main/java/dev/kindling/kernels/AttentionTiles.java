package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One (batch, head) of {@link MaskedAttention} when the head size is a whole number of vectors (BERT's 32 and 64):
 * register tiles instead of two general GEMM calls. A general GEMM packs both operands on every call, and for the
 * second product (n = head size, narrower than its micro-tile) runs edge tiles only; here K is transposed once into
 * the scratch, score tiles of 4 queries x 4 vectors of keys accumulate over the head size in registers, and the
 * probability-weighted sum of V reads V's rows in place (4 queries x 2 vectors of the head per pass).
 */
final class AttentionTiles {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();

    private AttentionTiles() {}

    /**
     * The head's output rows out[oo + i * ldo ..+ d) for i &lt; tq. Scratch s holds the scores [tq][tkPad] from 0
     * and K^T [d][tkPad] after them (tkPad: tk rounded up to whole vectors, the padding keys zero).
     */
    static void head(int tq, int tk, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] k, int ko, int ldk,
                     float[] v, int vo, int ldv, float[] mask, int mo, int[] ms, float[] s, float[] out, int oo, int ldo) {
        int kt = tq * tkPad;
        for (int j = 0; j < tk; j++) {
            int src = ko + j * ldk;
            for (int c = 0; c < d; c++) s[kt + c * tkPad + j] = k[src + c];
        }
        for (int c = 0; c < d; c++) java.util.Arrays.fill(s, kt + c * tkPad + tk, kt + (c + 1) * tkPad, 0f);
        int i = 0;
        for (; i + 4 <= tq; i += 4) scores4(i, tkPad, d, scale, q, qo, ldq, s, kt);
        for (; i < tq; i++) scores1(i, tkPad, d, scale, q, qo, ldq, s, kt);
        for (i = 0; i < tq; i++) {
            int r = i * tkPad;
            if (mask != null) {
                int m = mo + i * ms[2];
                if (ms[3] == 1) Elementwise.addInto(mask, m, 1, s, r, tk);
                else for (int j = 0; j < tk; j++) s[r + j] += mask[m + j * ms[3]];
            }
            Softmax.softmax(s, r, s, r, tk);
        }
        i = 0;
        if (d == 2 * VL) for (; i + 4 <= tq; i += 4) weighted4x2(i, tk, tkPad, s, v, vo, ldv, out, oo, ldo);
        else for (; i + 4 <= tq; i += 4) weighted4x1(i, tk, tkPad, d, s, v, vo, ldv, out, oo, ldo);
        for (; i < tq; i++) weighted1(i, tk, tkPad, d, s, v, vo, ldv, out, oo, ldo);
    }

    /** Score rows i..i+3: scale * Q(i..i+3) . K^T, 4 vectors of keys per tile. */
    private static void scores4(int i, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] s, int kt) {
        int q0 = qo + i * ldq, q1 = q0 + ldq, q2 = q1 + ldq, q3 = q2 + ldq;
        int s0 = i * tkPad, s1 = s0 + tkPad, s2 = s1 + tkPad, s3 = s2 + tkPad;
        int j = 0;
        for (; j + 4 * VL <= tkPad; j += 4 * VL) {
            FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
            FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
            FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S), c23 = FloatVector.zero(S);
            FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S), c33 = FloatVector.zero(S);
            for (int c = 0; c < d; c++) {
                int b = kt + c * tkPad + j;
                FloatVector b0 = FloatVector.fromArray(S, s, b), b1 = FloatVector.fromArray(S, s, b + VL);
                FloatVector b2 = FloatVector.fromArray(S, s, b + 2 * VL), b3 = FloatVector.fromArray(S, s, b + 3 * VL);
                FloatVector a = FloatVector.broadcast(S, q[q0 + c]);
                c00 = a.fma(b0, c00); c01 = a.fma(b1, c01); c02 = a.fma(b2, c02); c03 = a.fma(b3, c03);
                a = FloatVector.broadcast(S, q[q1 + c]);
                c10 = a.fma(b0, c10); c11 = a.fma(b1, c11); c12 = a.fma(b2, c12); c13 = a.fma(b3, c13);
                a = FloatVector.broadcast(S, q[q2 + c]);
                c20 = a.fma(b0, c20); c21 = a.fma(b1, c21); c22 = a.fma(b2, c22); c23 = a.fma(b3, c23);
                a = FloatVector.broadcast(S, q[q3 + c]);
                c30 = a.fma(b0, c30); c31 = a.fma(b1, c31); c32 = a.fma(b2, c32); c33 = a.fma(b3, c33);
            }
            c00.mul(scale).intoArray(s, s0 + j); c01.mul(scale).intoArray(s, s0 + j + VL);
            c02.mul(scale).intoArray(s, s0 + j + 2 * VL); c03.mul(scale).intoArray(s, s0 + j + 3 * VL);
            c10.mul(scale).intoArray(s, s1 + j); c11.mul(scale).intoArray(s, s1 + j + VL);
            c12.mul(scale).intoArray(s, s1 + j + 2 * VL); c13.mul(scale).intoArray(s, s1 + j + 3 * VL);
            c20.mul(scale).intoArray(s, s2 + j); c21.mul(scale).intoArray(s, s2 + j + VL);
            c22.mul(scale).intoArray(s, s2 + j + 2 * VL); c23.mul(scale).intoArray(s, s2 + j + 3 * VL);
            c30.mul(scale).intoArray(s, s3 + j); c31.mul(scale).intoArray(s, s3 + j + VL);
            c32.mul(scale).intoArray(s, s3 + j + 2 * VL); c33.mul(scale).intoArray(s, s3 + j + 3 * VL);
        }
        for (; j < tkPad; j += VL) { // the last vectors of keys, one at a time
            FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
            for (int c = 0; c < d; c++) {
                FloatVector b0 = FloatVector.fromArray(S, s, kt + c * tkPad + j);
                c0 = FloatVector.broadcast(S, q[q0 + c]).fma(b0, c0);
                c1 = FloatVector.broadcast(S, q[q1 + c]).fma(b0, c1);
                c2 = FloatVector.broadcast(S, q[q2 + c]).fma(b0, c2);
                c3 = FloatVector.broadcast(S, q[q3 + c]).fma(b0, c3);
            }
            c0.mul(scale).intoArray(s, s0 + j);
            c1.mul(scale).intoArray(s, s1 + j);
            c2.mul(scale).intoArray(s, s2 + j);
            c3.mul(scale).intoArray(s, s3 + j);
        }
    }

    private static void scores1(int i, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] s, int kt) {
        int q0 = qo + i * ldq, s0 = i * tkPad;
        for (int j = 0; j < tkPad; j += VL) {
            FloatVector c0 = FloatVector.zero(S);
            for (int c = 0; c < d; c++) c0 = FloatVector.broadcast(S, q[q0 + c]).fma(FloatVector.fromArray(S, s, kt + c * tkPad + j), c0);
            c0.mul(scale).intoArray(s, s0 + j);
        }
    }

    /** Output rows i..i+3 for a head of exactly two vectors: sum over keys of p(i, j) V(j). */
    private static void weighted4x2(int i, int tk, int tkPad, float[] s, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = i * tkPad, p1 = p0 + tkPad, p2 = p1 + tkPad, p3 = p2 + tkPad;
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int j = 0; j < tk; j++) {
            int b = vo + j * ldv;
            FloatVector v0 = FloatVector.fromArray(S, v, b), v1 = FloatVector.fromArray(S, v, b + VL);
            FloatVector a = FloatVector.broadcast(S, s[p0 + j]);
            c00 = a.fma(v0, c00); c01 = a.fma(v1, c01);
            a = FloatVector.broadcast(S, s[p1 + j]);
            c10 = a.fma(v0, c10); c11 = a.fma(v1, c11);
            a = FloatVector.broadcast(S, s[p2 + j]);
            c20 = a.fma(v0, c20); c21 = a.fma(v1, c21);
            a = FloatVector.broadcast(S, s[p3 + j]);
            c30 = a.fma(v0, c30); c31 = a.fma(v1, c31);
        }
        int o = oo + i * ldo;
        c00.intoArray(out, o); c01.intoArray(out, o + VL); o += ldo;
        c10.intoArray(out, o); c11.intoArray(out, o + VL); o += ldo;
        c20.intoArray(out, o); c21.intoArray(out, o + VL); o += ldo;
        c30.intoArray(out, o); c31.intoArray(out, o + VL);
    }

    /** Output rows i..i+3, one vector of the head at a time. */
    private static void weighted4x1(int i, int tk, int tkPad, int d, float[] s, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = i * tkPad, p1 = p0 + tkPad, p2 = p1 + tkPad, p3 = p2 + tkPad;
        for (int c = 0; c < d; c += VL) {
            FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
            for (int j = 0; j < tk; j++) {
                FloatVector v0 = FloatVector.fromArray(S, v, vo + j * ldv + c);
                c0 = FloatVector.broadcast(S, s[p0 + j]).fma(v0, c0);
                c1 = FloatVector.broadcast(S, s[p1 + j]).fma(v0, c1);
                c2 = FloatVector.broadcast(S, s[p2 + j]).fma(v0, c2);
                c3 = FloatVector.broadcast(S, s[p3 + j]).fma(v0, c3);
            }
            int o = oo + i * ldo + c;
            c0.intoArray(out, o);
            c1.intoArray(out, o + ldo);
            c2.intoArray(out, o + 2 * ldo);
            c3.intoArray(out, o + 3 * ldo);
        }
    }

    /** Output row i, one vector of the head at a time. */
    private static void weighted1(int i, int tk, int tkPad, int d, float[] s, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = i * tkPad;
        for (int c = 0; c < d; c += VL) {
            FloatVector acc = FloatVector.zero(S);
            for (int j = 0; j < tk; j++) acc = FloatVector.broadcast(S, s[p0 + j]).fma(FloatVector.fromArray(S, v, vo + j * ldv + c), acc);
            acc.intoArray(out, oo + i * ldo + c);
        }
    }
}
