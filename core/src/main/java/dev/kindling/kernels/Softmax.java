package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Row kernels for softmax, log-softmax and log-sum-exp (max-subtracted for stability). */
public final class Softmax {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /**
     * Per-thread lanes for the in-order lane sums. The sums are not {@link VectorMath#sumLanes} calls: after the exp
     * loop is inlined, C2 has spent the method's node budget (NodeCountInliningCutoff, seen with PrintInlining) and
     * leaves that call out of line, and a vector passed to a method that is not inlined is boxed: 2.4 MB per 25,600
     * rows of softmax, and up to 700 MB per int8 MiniLM call through the attention's GEMM path.
     */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[S.length()]);

    private Softmax() {}

    public static float max(float[] x, int o, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= S.length()) {
            var acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            int bound = S.loopBound(n);
            for (; i < bound; i += S.length()) acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, x, o + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[o + i]);
        return m;
    }

    /** dst[do..do+n) = softmax(src[so..so+n)). */
    public static void softmax(float[] src, int so, float[] dst, int dOff, int n) {
        if (n == 0) return;
        float m = max(src, so, n);
        if (m == Float.NEGATIVE_INFINITY) m = 0; // an all -inf row gives NaN like PyTorch through 0/0 below
        int i = 0;
        int bound = S.loopBound(n);
        var acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            var e = VectorMath.exp(FloatVector.fromArray(S, src, so + i).sub(m));
            e.intoArray(dst, dOff + i);
            acc = acc.add(e);
        }
        float[] lanes = LANES.get();
        acc.intoArray(lanes, 0);
        float sum = VectorMath.sumInOrder(lanes);
        if (i < n) expTail(src, so, dst, dOff, i, n, m);
        for (; i < n; i++) sum += dst[dOff + i];
        float inv = (float) (1 / sum);
        i = 0;
        for (; i < bound; i += S.length()) FloatVector.fromArray(S, dst, dOff + i).mul(inv).intoArray(dst, dOff + i);
        for (; i < n; i++) dst[dOff + i] *= inv;
    }

    /** x[o..o+n) = exp(x - shift) in place (the probabilities of a score row given its log-sum-exp). */
    public static void expShifted(float[] x, int o, int n, float shift) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += S.length()) VectorMath.exp(FloatVector.fromArray(S, x, o + i).sub(shift)).intoArray(x, o + i);
        for (; i < n; i++) x[o + i] = VectorMath.exp(x[o + i] - shift);
    }

    public static float logSumExp(float[] x, int o, int n) {
        if (n == 0) return Float.NEGATIVE_INFINITY;
        float m = max(x, o, n);
        if (Float.isInfinite(m)) return m;
        int i = 0, bound = S.loopBound(n);
        var acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) acc = acc.add(VectorMath.exp(FloatVector.fromArray(S, x, o + i).sub(m)));
        float[] lanes = LANES.get();
        acc.intoArray(lanes, 0);
        float sum = VectorMath.sumInOrder(lanes);
        if (i < n) expTail(x, o, lanes, -i, i, n, m); // the tail's exps into lanes[0, n - i)
        for (int t = 0; t < n - i; t++) sum += lanes[t];
        return (float) (m + Math.log(sum));
    }

    /**
     * dst[dOff + i] = exp(src[so + i] - m) for i in [from, n), fewer than a vector: one masked vector exp, whose
     * lanes are the scalar exp's bits. Scalar exps in the softmax loop were out-of-line calls: C2 spends the
     * method's node budget on the vector exp (NodeCountInliningCutoff), and six calls made a 150-wide row a fifth
     * slower than a 144-wide one. A method of its own, so that out of line it is one call that passes no vector.
     */
    private static void expTail(float[] src, int so, float[] dst, int dOff, int from, int n, float m) {
        var in = S.indexInRange(from, n);
        VectorMath.exp(FloatVector.fromArray(S, src, so + from, in).sub(m)).intoArray(dst, dOff + from, in);
    }

    public static void logSoftmax(float[] src, int so, float[] dst, int dOff, int n) {
        float lse = logSumExp(src, so, n);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += S.length()) FloatVector.fromArray(S, src, so + i).sub(lse).intoArray(dst, dOff + i);
        for (; i < n; i++) dst[dOff + i] = src[so + i] - lse;
    }
}
