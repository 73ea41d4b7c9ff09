package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Fused optimizer updates: one pass over each parameter. */
public final class OptimKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private OptimKernels() {}

    /**
     * Adam/AdamW step over n elements. {@code decoupled}: AdamW (p -= lr*wd*p before the Adam update);
     * otherwise L2 (g += wd*p). bc1 = 1 - beta1^t, bc2 = 1 - beta2^t.
     */
    public static void adam(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                            float weightDecay, boolean decoupled, float bc1, float bc2) {
        Parallel.forRange(n, 12, (from, to) -> adamRange(p, g, m, v, from, to, lr, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2));
    }

    private static void adamRange(float[] p, float[] g, float[] m, float[] v, int from, int to, float lr, float beta1, float beta2,
                                  float eps, float wd, boolean decoupled, float bc1, float bc2) {
        float stepSize = lr / bc1;
        float invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        float decay = decoupled ? 1 - lr * wd : 1f;
        float l2 = decoupled ? 0f : wd;
        int i = from;
        int bound = from + S.loopBound(to - from);
        for (; i < bound; i += S.length()) {
            var pv = FloatVector.fromArray(S, p, i);
            var gv = FloatVector.fromArray(S, g, i);
            if (l2 != 0) gv = pv.mul(l2).add(gv);
            var mv = FloatVector.fromArray(S, m, i).mul(beta1).add(gv.mul(1 - beta1));
            var vv = FloatVector.fromArray(S, v, i).mul(beta2).add(gv.mul(gv).mul(1 - beta2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            var denom = vv.sqrt().mul(invSqrtBc2).add(eps);
            pv.mul(decay).sub(mv.div(denom).mul(stepSize)).intoArray(p, i);
        }
        // the same operations in the same order as the lanes, so that an element's result does not depend on
        // whether it falls in the vector part or the tail (which moves with the thread count)
        for (; i < to; i++) {
            float gi = l2 != 0 ? p[i] * l2 + g[i] : g[i];
            m[i] = m[i] * beta1 + gi * (1 - beta1);
            v[i] = v[i] * beta2 + gi * gi * (1 - beta2);
            float denom = (float) Math.sqrt(v[i]) * invSqrtBc2 + eps;
            p[i] = p[i] * decay - m[i] / denom * stepSize;
        }
    }

    /** Scalar twin of {@link #adam}, computed in double: the oracle for tests. */
    public static void adamReference(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                                     float wd, boolean decoupled, float bc1, float bc2) {
        for (int i = 0; i < n; i++) {
            double pi = p[i];
            double gi = g[i] + (decoupled ? 0 : wd * pi);
            if (decoupled) pi *= 1 - (double) lr * wd;
            double mi = beta1 * (double) m[i] + (1 - beta1) * gi;
            double vi = beta2 * (double) v[i] + (1 - beta2) * gi * gi;
            m[i] = (float) mi;
            v[i] = (float) vi;
            p[i] = (float) (pi - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps));
        }
    }
}
