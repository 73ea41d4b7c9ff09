package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Fused optimizer updates: one pass over each parameter. */
public final class OptimKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private OptimKernels() {}

    /**
     * Adam/AdamW step over n elements. {@code decoupled}: AdamW (p *= 1 - lr*wd before the Adam update);
     * otherwise L2 (g += wd*p). bc1 = 1 - beta1^t, bc2 = 1 - beta2^t. The hyperparameters come in double and
     * are combined in double before rounding to float, as PyTorch does: 1 - beta2 computed from a float
     * beta2 (0.999f) is off by 1.3e-5 relative, which showed in the first step.
     */
    public static void adam(float[] p, float[] g, float[] m, float[] v, int n, double lr, double beta1, double beta2, double eps,
                            double weightDecay, boolean decoupled, double bc1, double bc2) {
        var h = new AdamScalars((float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps,
                (float) (lr / bc1), (float) Math.sqrt(bc2), decoupled ? (float) (1 - lr * weightDecay) : 1f,
                decoupled ? 0f : (float) weightDecay);
        Parallel.forRange(n, 12, (from, to) -> adamRange(p, g, m, v, from, to, h));
    }

    /** Elements per work item of {@link #adamAll}: whole cache lines, and item counts that fit an int. */
    private static final int BLOCK = 1024;

    /**
     * {@link #adam} over several parameters at once (tensor i: p[i], g[i], m[i], v[i], all of p[i]'s length, with its
     * group's lr[i] and weightDecay[i]), in one parallel pass split by elements: one fork/join per optimizer step
     * instead of one per large parameter (a small GPT's step had 18 of them). Each element gets exactly the
     * result {@link #adam} gives it.
     */
    public static void adamAll(float[][] p, float[][] g, float[][] m, float[][] v, double[] lr, double[] weightDecay,
                               double beta1, double beta2, double eps, boolean decoupled, double bc1, double bc2) {
        int k = p.length;
        if (g.length != k || m.length != k || v.length != k || lr.length != k || weightDecay.length != k)
            throw new IllegalArgumentException("adamAll: " + k + " parameters but " + g.length + " gradients, " + m.length + " and "
                    + v.length + " moments, " + lr.length + " learning rates and " + weightDecay.length + " weight decays");
        long[] start = new long[k + 1];
        var h = new AdamScalars[k];
        for (int i = 0; i < k; i++) {
            int n = p[i].length;
            if (g[i].length < n || m[i].length < n || v[i].length < n)
                throw new IllegalArgumentException("adamAll: parameter " + i + " has " + n + " elements but its gradient "
                        + g[i].length + ", moments " + m[i].length + " and " + v[i].length);
            start[i + 1] = start[i] + n;
            h[i] = new AdamScalars((float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps,
                    (float) (lr[i] / bc1), (float) Math.sqrt(bc2), decoupled ? (float) (1 - lr[i] * weightDecay[i]) : 1f,
                    decoupled ? 0f : (float) weightDecay[i]);
        }
        long total = start[k];
        int blocks = (int) ((total + BLOCK - 1) / BLOCK);
        Parallel.forRange(blocks, 12L * BLOCK, (from, to) -> {
            long lo = (long) from * BLOCK, hi = Math.min(total, (long) to * BLOCK);
            int i = java.util.Arrays.binarySearch(start, lo);
            i = i >= 0 ? i : -i - 2; // the parameter whose range holds lo
            for (; i < k && start[i] < hi; i++) {
                int a = (int) Math.max(0, lo - start[i]), b = (int) Math.min(p[i].length, hi - start[i]);
                if (a < b) adamRange(p[i], g[i], m[i], v[i], a, b, h[i]);
            }
        });
    }

    /** The float constants of one Adam step. */
    private record AdamScalars(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps, float stepSize,
                               float sqrtBc2, float decay, float l2) {}

    private static void adamRange(float[] p, float[] g, float[] m, float[] v, int from, int to, AdamScalars h) {
        float beta1 = h.beta1, c1 = h.oneMinusBeta1, beta2 = h.beta2, c2 = h.oneMinusBeta2, eps = h.eps;
        float stepSize = h.stepSize, sqrtBc2 = h.sqrtBc2, decay = h.decay, l2 = h.l2;
        int i = from;
        int bound = from + S.loopBound(to - from);
        for (; i < bound; i += S.length()) {
            var pv = FloatVector.fromArray(S, p, i);
            var gv = FloatVector.fromArray(S, g, i);
            if (l2 != 0) gv = pv.mul(l2).add(gv);
            var mv = FloatVector.fromArray(S, m, i).mul(beta1).add(gv.mul(c1));
            var vv = FloatVector.fromArray(S, v, i).mul(beta2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            var denom = vv.sqrt().div(sqrtBc2).add(eps);
            pv.mul(decay).sub(mv.div(denom).mul(stepSize)).intoArray(p, i);
        }
        // the same operations in the same order as the lanes, so that an element's result does not depend on
        // whether it falls in the vector part or the tail (which moves with the thread count)
        for (; i < to; i++) {
            float gi = l2 != 0 ? p[i] * l2 + g[i] : g[i];
            m[i] = m[i] * beta1 + gi * c1;
            v[i] = v[i] * beta2 + gi * gi * c2;
            float denom = (float) Math.sqrt(v[i]) / sqrtBc2 + eps;
            p[i] = p[i] * decay - m[i] / denom * stepSize;
        }
    }

    /**
     * SGD step over n elements, PyTorch's formula: d = g + wd * p; with momentum mu (buf not null), buf = d on the
     * first step, else mu * buf + (1 - dampening) * d, and d = d + mu * buf (Nesterov) or buf; then p -= lr * d.
     * Vector lanes and the scalar tail do the same float operations in the same order as {@link #sgdReference},
     * so the result is the same bits whatever the thread count; split over the kernel threads (the small CNN's
     * 2.2M parameters took a tenth of a step on the calling thread alone).
     */
    public static void sgd(float[] p, float[] g, float[] buf, int n, float lr, float wd, float mu, float dampening,
                           boolean nesterov, boolean first) {
        Parallel.forRange(n, 6, (from, to) -> sgdRange(p, g, buf, from, to, lr, wd, mu, 1 - dampening, nesterov, first));
    }

    private static void sgdRange(float[] p, float[] g, float[] buf, int from, int to, float lr, float wd, float mu,
                                 float keep, boolean nesterov, boolean first) {
        int i = from, bound = from + S.loopBound(to - from);
        // one loop per case, each without a choice between vectors: a vector that is one of two values at a merge
        // point can be boxed by the JIT, which showed as allocation in steady-state profiles
        if (buf == null) {
            for (; i < bound; i += S.length()) {
                var pv = FloatVector.fromArray(S, p, i);
                var d = FloatVector.fromArray(S, g, i).add(pv.mul(wd));
                pv.sub(d.mul(lr)).intoArray(p, i);
            }
        } else if (first && nesterov) {
            for (; i < bound; i += S.length()) {
                var pv = FloatVector.fromArray(S, p, i);
                var d = FloatVector.fromArray(S, g, i).add(pv.mul(wd));
                d.intoArray(buf, i);
                pv.sub(d.add(d.mul(mu)).mul(lr)).intoArray(p, i);
            }
        } else if (first) {
            for (; i < bound; i += S.length()) {
                var pv = FloatVector.fromArray(S, p, i);
                var d = FloatVector.fromArray(S, g, i).add(pv.mul(wd));
                d.intoArray(buf, i);
                pv.sub(d.mul(lr)).intoArray(p, i);
            }
        } else if (nesterov) {
            for (; i < bound; i += S.length()) {
                var pv = FloatVector.fromArray(S, p, i);
                var d = FloatVector.fromArray(S, g, i).add(pv.mul(wd));
                var b = FloatVector.fromArray(S, buf, i).mul(mu).add(d.mul(keep));
                b.intoArray(buf, i);
                pv.sub(d.add(b.mul(mu)).mul(lr)).intoArray(p, i);
            }
        } else {
            for (; i < bound; i += S.length()) {
                var pv = FloatVector.fromArray(S, p, i);
                var d = FloatVector.fromArray(S, g, i).add(pv.mul(wd));
                var b = FloatVector.fromArray(S, buf, i).mul(mu).add(d.mul(keep));
                b.intoArray(buf, i);
                pv.sub(b.mul(lr)).intoArray(p, i);
            }
        }
        for (; i < to; i++) {
            float d = g[i] + wd * p[i];
            if (buf != null) {
                buf[i] = first ? d : mu * buf[i] + keep * d;
                d = nesterov ? d + mu * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /** Scalar twin of {@link #sgd}: the oracle for tests. */
    public static void sgdReference(float[] p, float[] g, float[] buf, int n, float lr, float wd, float mu, float dampening,
                                    boolean nesterov, boolean first) {
        for (int i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            if (buf != null) {
                buf[i] = first ? d : mu * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + mu * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /** Scalar twin of {@link #adam}, computed in double: the oracle for tests. */
    public static void adamReference(float[] p, float[] g, float[] m, float[] v, int n, double lr, double beta1, double beta2, double eps,
                                     double wd, boolean decoupled, double bc1, double bc2) {
        for (int i = 0; i < n; i++) {
            double pi = p[i];
            double gi = g[i] + (decoupled ? 0 : wd * pi);
            if (decoupled) pi *= 1 - lr * wd;
            double mi = beta1 * m[i] + (1 - beta1) * gi;
            double vi = beta2 * v[i] + (1 - beta2) * gi * gi;
            m[i] = (float) mi;
            v[i] = (float) vi;
            p[i] = (float) (pi - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps));
        }
    }
}
