package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The passes a convolution makes over each output plane besides its GEMM, each fused into one sweep of the plane
 * while it is in cache: bias and ReLU after the forward GEMM, and in backward ReLU's gradient mask together with
 * the bias gradient (the plane's sum). Separate passes read and wrote every output plane two or three times.
 * {@link #biasReluScalar} and {@link #maskSumScalar} are the scalar twins.
 */
public final class ConvEpilogue {
    private static final VectorSpecies<Float> S = VectorWidth.floatSpecies();

    private ConvEpilogue() {}

    /** y[o .. o+n) = relu(y + bias) when {@code relu}, else y + bias, in place. */
    public static void biasRelu(float[] y, int o, int n, float bias, boolean relu) {
        int i = 0, bound = S.loopBound(n);
        var b = FloatVector.broadcast(S, bias);
        if (relu) {
            var zero = FloatVector.zero(S);
            // max(v, 0) would turn NaN into 0 on some paths; the blend keeps NaN, as relu(NaN) = NaN in PyTorch
            for (; i < bound; i += S.length()) {
                var v = FloatVector.fromArray(S, y, o + i).add(b);
                v.blend(zero, v.compare(VectorOperators.LT, 0f)).intoArray(y, o + i);
            }
        } else {
            for (; i < bound; i += S.length()) FloatVector.fromArray(S, y, o + i).add(b).intoArray(y, o + i);
        }
        for (; i < n; i++) {
            float v = y[o + i] + bias;
            y[o + i] = relu && v < 0f ? 0f : v;
        }
    }

    /** The scalar twin of {@link #biasRelu}. */
    public static void biasReluScalar(float[] y, int o, int n, float bias, boolean relu) {
        for (int i = 0; i < n; i++) {
            float v = y[o + i] + bias;
            y[o + i] = relu && v < 0f ? 0f : v;
        }
    }

    /**
     * out[oo + i] = g[go + i] where y[yo + i] &gt; 0, else 0 (ReLU's gradient given its output y, a select as in
     * PyTorch's threshold_backward), for i &lt; n; returns the sum of what was written (the bias gradient's share of
     * this plane), summed in vector lanes and then across them in lane order, so the bits do not depend on the JIT. With {@code y} null nothing is masked; with
     * {@code out} null nothing is written, only summed.
     */
    public static float maskSum(float[] y, int yo, float[] g, int go, float[] out, int oo, int n) {
        int i = 0, bound = S.loopBound(n);
        var acc = FloatVector.zero(S);
        if (y != null) {
            var zero = FloatVector.zero(S);
            for (; i < bound; i += S.length()) {
                var v = zero.blend(FloatVector.fromArray(S, g, go + i), FloatVector.fromArray(S, y, yo + i).compare(VectorOperators.GT, 0f));
                if (out != null) v.intoArray(out, oo + i);
                acc = acc.add(v);
            }
        } else {
            for (; i < bound; i += S.length()) {
                var v = FloatVector.fromArray(S, g, go + i);
                if (out != null) v.intoArray(out, oo + i);
                acc = acc.add(v);
            }
        }
        float sum = VectorMath.sumLanes(acc); // in lane order: reduceLanes(ADD) may change its order once C2 compiles it
        for (; i < n; i++) {
            float v = y == null || y[yo + i] > 0f ? g[go + i] : 0f;
            if (out != null) out[oo + i] = v;
            sum += v;
        }
        return sum;
    }

    /** The scalar twin of {@link #maskSum} (the sum in plain order, so it agrees to rounding, not bit for bit). */
    public static float maskSumScalar(float[] y, int yo, float[] g, int go, float[] out, int oo, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float v = y == null || y[yo + i] > 0f ? g[go + i] : 0f;
            if (out != null) out[oo + i] = v;
            sum += v;
        }
        return sum;
    }
}
