package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One (batch, head) of {@link MaskedAttention} when the head size is a whole number of vectors (BERT's 32 and 64):
 * register tiles instead of two general GEMM calls. A general GEMM packs both operands on every call, and for the
 * second product (n = head size, narrower than its micro-tile) runs edge tiles only; here K is transposed once into
 * the scratch, score tiles of 4 queries x 4 vectors of keys accumulate over the head size in registers, and the
 * probability-weighted sum of V reads V's rows in place (8 or 4 queries x 2 vectors of the head per pass).
 */
final class AttentionTiles {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();

    private AttentionTiles() {}

    /**
     * Queries per block: a block's scores (QUERY_BLOCK x tkPad) go from the score tiles through the softmax to the
     * weighted sums while in L1. Scores for all 128 queries of a 128-token head (64 KB) did not fit L1, so each of
     * the three passes over them ran from L2.
     */
    static final int QUERY_BLOCK = 16;

    /** Floats of scratch that {@link #head} needs: K^T [d][tkPad] and one block of scores [QUERY_BLOCK][tkPad]. */
    static int scratch(int tq, int tkPad, int d) {
        return (d + Math.min(tq, QUERY_BLOCK)) * tkPad;
    }

    /**
     * The head's output rows out[oo + i * ldo ..+ d) for i &lt; tq. Scratch s ({@link #scratch} floats) holds K^T
     * [d][tkPad] from 0 (tkPad: tk rounded up to whole vectors, the padding keys zero), then the scores of one block
     * of queries.
     */
    static void head(int tq, int tk, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] k, int ko, int ldk,
                     float[] v, int vo, int ldv, float[] mask, int mo, int[] ms, float[] s, float[] out, int oo, int ldo) {
        int kt = 0, sb = d * tkPad;
        // K^T row by row: the stores run in order and the loads stride over K's rows (which stay in L1 for the d
        // passes). Row-major order the other way (stores d rows apart) ran at about 3 ns per element, a quarter of
        // the head's time: stores 512 bytes apart against loads 4 bytes apart alias in the low address bits.
        for (int c = 0; c < d; c++) {
            int dst = kt + c * tkPad, src = ko + c;
            for (int j = 0; j < tk; j++) s[dst + j] = k[src + j * ldk];
        }
        for (int c = 0; c < d; c++) java.util.Arrays.fill(s, kt + c * tkPad + tk, kt + (c + 1) * tkPad, 0f);
        float[] lanes = new float[VL];
        for (int i0 = 0; i0 < tq; i0 += QUERY_BLOCK) {
            int n = Math.min(QUERY_BLOCK, tq - i0), qb = qo + i0 * ldq, ob = oo + i0 * ldo;
            int i = 0;
            for (; i + 4 <= n; i += 4) scores4(i, tkPad, d, scale, q, qb, ldq, s, kt, sb);
            for (; i < n; i++) scores1(i, tkPad, d, scale, q, qb, ldq, s, kt, sb);
            for (i = 0; i < n; i++) {
                int r = sb + i * tkPad;
                if (mask != null) {
                    int m = mo + (i0 + i) * ms[2];
                    if (ms[3] == 1) Elementwise.addInto(mask, m, 1, s, r, tk);
                    else for (int j = 0; j < tk; j++) s[r + j] += mask[m + j * ms[3]];
                }
                softmax(s, r, tk, lanes);
            }
            i = 0;
            if (d == 2 * VL) {
                for (; i + 8 <= n; i += 8) weighted8x2(i, tk, tkPad, s, sb, v, vo, ldv, out, ob, ldo);
                for (; i + 4 <= n; i += 4) weighted4x2(i, tk, tkPad, s, sb, v, vo, ldv, out, ob, ldo);
            } else for (; i + 4 <= n; i += 4) weighted4x1(i, tk, tkPad, d, s, sb, v, vo, ldv, out, ob, ldo);
            for (; i < n; i++) weighted1(i, tk, tkPad, d, s, sb, v, vo, ldv, out, ob, ldo);
        }
    }

    /**
     * s[r ..+ n) = softmax of itself: {@link Softmax#softmax}'s operations in its order, with the lane sum done by a
     * store and a scalar loop (extracting lanes by a variable index cost as much as the exponentials of a 128-key row).
     */
    static void softmax(float[] s, int r, int n, float[] lanes) {
        float m = Softmax.max(s, r, n);
        if (m == Float.NEGATIVE_INFINITY) m = 0; // an all -inf row gives NaN, as Softmax.softmax does
        int j = 0, bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (; j < bound; j += VL) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, s, r + j).sub(m));
            e.intoArray(s, r + j);
            acc = acc.add(e);
        }
        float sum = laneSum(acc, lanes);
        for (; j < n; j++) {
            float e = VectorMath.exp(s[r + j] - m);
            s[r + j] = e;
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (j = 0; j < bound; j += VL) FloatVector.fromArray(S, s, r + j).mul(inv).intoArray(s, r + j);
        for (; j < n; j++) s[r + j] *= inv;
    }

    /** The lanes of v summed in lane order, as {@link VectorMath#sumLanes} does, through {@code lanes} (VL floats). */
    static float laneSum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        return VectorMath.sumInOrder(lanes);
    }

    /** Score rows i..i+3: scale * Q(i..i+3) . K^T, 4 vectors of keys per tile. */
    private static void scores4(int i, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] s, int kt, int sb) {
        int q0 = qo + i * ldq, q1 = q0 + ldq, q2 = q1 + ldq, q3 = q2 + ldq;
        int s0 = sb + i * tkPad, s1 = s0 + tkPad, s2 = s1 + tkPad, s3 = s2 + tkPad;
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

    private static void scores1(int i, int tkPad, int d, float scale, float[] q, int qo, int ldq, float[] s, int kt, int sb) {
        int q0 = qo + i * ldq, s0 = sb + i * tkPad;
        for (int j = 0; j < tkPad; j += VL) {
            FloatVector c0 = FloatVector.zero(S);
            for (int c = 0; c < d; c++) c0 = FloatVector.broadcast(S, q[q0 + c]).fma(FloatVector.fromArray(S, s, kt + c * tkPad + j), c0);
            c0.mul(scale).intoArray(s, s0 + j);
        }
    }

    /**
     * Output rows i..i+7 for a head of exactly two vectors: 16 accumulators, so each pair of V vectors loaded serves
     * 16 multiply-adds (the 4-row form spent as many loads on V and the probabilities as on its 8 multiply-adds).
     */
    private static void weighted8x2(int i, int tk, int tkPad, float[] s, int sb, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = sb + i * tkPad;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int j = 0; j < tk; j++) {
            int b = vo + j * ldv, pj = p0 + j;
            FloatVector v0 = FloatVector.fromArray(S, v, b), v1 = FloatVector.fromArray(S, v, b + VL);
            FloatVector a = FloatVector.broadcast(S, s[pj]);
            c00 = a.fma(v0, c00); c01 = a.fma(v1, c01);
            a = FloatVector.broadcast(S, s[pj + tkPad]);
            c10 = a.fma(v0, c10); c11 = a.fma(v1, c11);
            a = FloatVector.broadcast(S, s[pj + 2 * tkPad]);
            c20 = a.fma(v0, c20); c21 = a.fma(v1, c21);
            a = FloatVector.broadcast(S, s[pj + 3 * tkPad]);
            c30 = a.fma(v0, c30); c31 = a.fma(v1, c31);
            a = FloatVector.broadcast(S, s[pj + 4 * tkPad]);
            c40 = a.fma(v0, c40); c41 = a.fma(v1, c41);
            a = FloatVector.broadcast(S, s[pj + 5 * tkPad]);
            c50 = a.fma(v0, c50); c51 = a.fma(v1, c51);
            a = FloatVector.broadcast(S, s[pj + 6 * tkPad]);
            c60 = a.fma(v0, c60); c61 = a.fma(v1, c61);
            a = FloatVector.broadcast(S, s[pj + 7 * tkPad]);
            c70 = a.fma(v0, c70); c71 = a.fma(v1, c71);
        }
        int o = oo + i * ldo;
        c00.intoArray(out, o); c01.intoArray(out, o + VL); o += ldo;
        c10.intoArray(out, o); c11.intoArray(out, o + VL); o += ldo;
        c20.intoArray(out, o); c21.intoArray(out, o + VL); o += ldo;
        c30.intoArray(out, o); c31.intoArray(out, o + VL); o += ldo;
        c40.intoArray(out, o); c41.intoArray(out, o + VL); o += ldo;
        c50.intoArray(out, o); c51.intoArray(out, o + VL); o += ldo;
        c60.intoArray(out, o); c61.intoArray(out, o + VL); o += ldo;
        c70.intoArray(out, o); c71.intoArray(out, o + VL);
    }

    /** Output rows i..i+3 for a head of exactly two vectors: sum over keys of p(i, j) V(j). */
    private static void weighted4x2(int i, int tk, int tkPad, float[] s, int sb, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = sb + i * tkPad, p1 = p0 + tkPad, p2 = p1 + tkPad, p3 = p2 + tkPad;
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
    private static void weighted4x1(int i, int tk, int tkPad, int d, float[] s, int sb, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = sb + i * tkPad, p1 = p0 + tkPad, p2 = p1 + tkPad, p3 = p2 + tkPad;
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
    private static void weighted1(int i, int tk, int tkPad, int d, float[] s, int sb, float[] v, int vo, int ldv, float[] out, int oo, int ldo) {
        int p0 = sb + i * tkPad;
        for (int c = 0; c < d; c += VL) {
            FloatVector acc = FloatVector.zero(S);
            for (int j = 0; j < tk; j++) acc = FloatVector.broadcast(S, s[p0 + j]).fma(FloatVector.fromArray(S, v, vo + j * ldv + c), acc);
            acc.intoArray(out, oo + i * ldo + c);
        }
    }
}
