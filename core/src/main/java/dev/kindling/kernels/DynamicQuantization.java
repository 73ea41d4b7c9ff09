package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * ONNX DynamicQuantizeLinear on float arrays: the uint8 scale and zero point of a tensor from its range, and its
 * codes already minus the zero point, as floats, which is the form a float GEMM multiplies (MatMulInteger computes
 * (a - a_zp)(b - b_zp)). Rounding is half to even, as ONNX specifies; the scalar methods are the SIMD ones' twins.
 */
public final class DynamicQuantization {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, half to even. */
    private static final float ROUND = 0x1.8p23f;

    private DynamicQuantization() {}

    /**
     * {scale, zero point} for x[off, off + n): the range [min(0, min x), max(0, max x)] mapped onto [0, 255]; scale
     * 0 (and zero point 0) when x is all zeros.
     *
     * @throws IllegalArgumentException if the range is not finite (a NaN or infinity in x), naming it
     */
    public static float[] scaleAndZeroPoint(float[] x, int off, int n) {
        float[] r = range(x, off, n);
        return scaleAndZeroPoint(r[0], r[1]);
    }

    /**
     * {min(0, min x), max(0, max x)} over x[off, off + n): parts of a tensor can be ranged separately (on several
     * threads) and combined by min and max, which are exact, before {@link #scaleAndZeroPoint(float, float)}.
     */
    public static float[] range(float[] x, int off, int n) {
        float lo = 0, hi = 0;
        int i = 0;
        if (n >= S.length()) {
            var vlo = FloatVector.zero(S);
            var vhi = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                var v = FloatVector.fromArray(S, x, off + i);
                vlo = vlo.min(v);
                vhi = vhi.max(v);
            }
            lo = vlo.reduceLanes(VectorOperators.MIN);
            hi = vhi.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            lo = Math.min(lo, x[off + i]);
            hi = Math.max(hi, x[off + i]);
        }
        return new float[] {lo, hi};
    }

    /**
     * {scale, zero point} of the range [lo, hi] (lo &lt;= 0 &lt;= hi, as {@link #range} gives): scale = (hi - lo) / 255,
     * zero point = saturate(round half to even(-lo / scale)); both 0 when the range is empty.
     *
     * @throws IllegalArgumentException if the range is not finite (a NaN or infinity in the tensor), naming it
     */
    public static float[] scaleAndZeroPoint(float lo, float hi) {
        if (!Float.isFinite(lo) || !Float.isFinite(hi))
            throw new IllegalArgumentException("DynamicQuantizeLinear: input range [" + lo + ", " + hi + "] is not finite");
        float scale = (hi - lo) / 255f;
        float zp = scale == 0 ? 0 : (float) Math.clamp(Math.rint(0 - lo / scale), 0, 255);
        return new float[] {scale, zp};
    }

    /**
     * out[i] = saturate(round(x[i] / scale) + zp, 0, 255) - zp for i &lt; n: the uint8 code minus its zero point, as
     * a float (exact: an integer in [-255, 255]). scale 0 gives zeros.
     */
    public static void quantizeShifted(float[] x, int xOff, int n, float scale, float zp, float[] out, int outOff) {
        if (scale == 0) {
            java.util.Arrays.fill(out, outOff, outOff + n, 0f);
            return;
        }
        float lo = -zp, hi = 255 - zp; // the saturation bounds, shifted
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            var q = FloatVector.fromArray(S, x, xOff + i).div(scale).add(ROUND).sub(ROUND);
            q.max(lo).min(hi).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = quantizeShifted(x[xOff + i], scale, zp);
    }

    /** The scalar twin of {@link #quantizeShifted(float[], int, int, float, float, float[], int)} for one value. */
    static float quantizeShifted(float x, float scale, float zp) {
        return (float) (Math.clamp(Math.rint(x / scale) + zp, 0, 255) - zp);
    }
}
