package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Transcendentals and lane reductions built only from IEEE-exact vector operations (add, mul, fma, compare,
 * blend, conversions), each with a scalar twin performing the same float operations in the same order.
 *
 * <p>Why not {@code lanewise(EXP)} and {@code reduceLanes(ADD)}: their results depend on whether the JIT has
 * compiled the loop (an intrinsic, SVML or a tree reduction) or not (a Java fallback, Math.exp or a
 * sequential sum), so a resumed run in a fresh JVM would drift from the original in the last bits. These
 * give the same bits interpreted, compiled, in a vector lane or in a loop tail.
 */
public final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    private static final float MAX_X = 88.7228391f;        // exp above this overflows float
    private static final float MIN_X = -87.3365447505531f; // exp below this would be subnormal: flushed to 0
    // Taylor coefficients of exp(r) on |r| <= ln2/2 (Cephes expf): rel. error about 1e-7
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x per lane; +inf above 88.72, 0 below -87.34, NaN stays NaN. */
    public static FloatVector exp(FloatVector x) {
        var over = x.compare(VectorOperators.GT, MAX_X);
        var under = x.compare(VectorOperators.LT, MIN_X);
        var c = x.max(MIN_X).min(MAX_X);
        var k = c.mul(LOG2E).add(ROUND).sub(ROUND);
        var r = k.fma(x.broadcast(-LN2_HI), c);
        r = k.fma(x.broadcast(-LN2_LO), r);
        var r2 = r.mul(r);
        var p = r.fma(x.broadcast(P0), x.broadcast(P1));
        p = p.fma(r, x.broadcast(P2));
        p = p.fma(r, x.broadcast(P3));
        p = p.fma(r, x.broadcast(P4));
        p = p.fma(r, x.broadcast(P5));
        p = p.fma(r2, r).add(1f);
        // 2^k as 2^(k/2) * 2^(k - k/2) so both factors stay normal floats for k in [-126, 128]
        IntVector ki = (IntVector) k.convert(VectorOperators.F2I, 0);
        IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
        var y = p.mul(k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                .mul(k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        return y.blend(Float.POSITIVE_INFINITY, over).blend(0f, under);
    }

    /** The scalar twin of {@link #exp(FloatVector)}: bit-identical. */
    public static float exp(float x) {
        if (Float.isNaN(x)) return x;
        if (x > MAX_X) return Float.POSITIVE_INFINITY;
        if (x < MIN_X) return 0f;
        float c = Math.min(Math.max(x, MIN_X), MAX_X);
        float k = c * LOG2E + ROUND - ROUND;
        float r = Math.fma(k, -LN2_HI, c);
        r = Math.fma(k, -LN2_LO, r);
        float r2 = r * r;
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = Math.fma(p, r2, r) + 1f;
        int ki = (int) k, k1 = ki >> 1, k2 = ki - k1;
        return p * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
    }

    // odd polynomial for tanh on |x| <= 0.625 (Cephes tanhf): (1 - e) / (1 + e) cancels there, tanh(1e-3) lost
    // 4 digits and tanh(1e-8) came out 0
    private static final float TANH_SMALL = 0.625f;
    private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
            T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;

    /** tanh(x): x + x^3 P(x^2) for |x| <= 0.625, else sign(x) (1 - e) / (1 + e) with e = exp(-2|x|). */
    public static FloatVector tanh(FloatVector x) {
        var e = exp(x.abs().mul(-2f));
        var t = e.neg().add(1f).div(e.add(1f));
        t = t.blend(t.neg(), x.compare(VectorOperators.LT, 0f));
        var z = x.mul(x);
        var p = z.fma(x.broadcast(T0), x.broadcast(T1));
        p = p.fma(z, x.broadcast(T2));
        p = p.fma(z, x.broadcast(T3));
        p = p.fma(z, x.broadcast(T4));
        var small = p.mul(z).fma(x, x);
        return t.blend(small, x.abs().compare(VectorOperators.LE, TANH_SMALL));
    }

    public static float tanh(float x) {
        if (Math.abs(x) <= TANH_SMALL) {
            float z = x * x;
            float p = Math.fma(z, T0, T1);
            p = Math.fma(p, z, T2);
            p = Math.fma(p, z, T3);
            p = Math.fma(p, z, T4);
            return Math.fma(p * z, x, x);
        }
        float e = exp(Math.abs(x) * -2f);
        float t = (-e + 1f) / (e + 1f);
        return x < 0f ? -t : t;
    }

    /** 1 / (1 + exp(-x)). */
    public static FloatVector sigmoid(FloatVector x) {
        return x.broadcast(1f).div(exp(x.neg()).add(1f));
    }

    public static float sigmoid(float x) {
        return 1f / (exp(-x) + 1f);
    }

    // erfc(z) ~ t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-z^2), t = 1 / (1 + p z), z >= 0
    // (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7); used directly, it has no cancellation for x < 0
    private static final float ERF_P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f,
            A4 = -1.453152027f, A5 = 1.061405429f;
    private static final float INV_SQRT2 = 0.70710678118654752f, INV_SQRT_2PI = 0.39894228040143268f;

    /** 2 Phi(x) (twice the standard normal CDF) and, in {@code pdf}, the density phi(x); GELU(x) = x Phi(x). */
    private static FloatVector twoCdf(FloatVector x, FloatVector e) {
        var z = x.abs().mul(INV_SQRT2);
        var t = x.broadcast(1f).div(z.mul(ERF_P).add(1f));
        var poly = t.fma(x.broadcast(A5), x.broadcast(A4));
        poly = poly.fma(t, x.broadcast(A3));
        poly = poly.fma(t, x.broadcast(A2));
        poly = poly.fma(t, x.broadcast(A1));
        var q = poly.mul(t).mul(e);                      // erfc(|x| / sqrt 2)
        return q.blend(q.neg().add(2f), x.compare(VectorOperators.GE, 0f));
    }

    /** GELU with the exact (erf) form: x/2 (1 + erf(x / sqrt 2)). */
    public static FloatVector gelu(FloatVector x) {
        var e = exp(x.mul(x).mul(-0.5f));
        return twoCdf(x, e).mul(x).mul(0.5f);
    }

    /** d GELU / dx = Phi(x) + x phi(x). */
    public static FloatVector geluDerivative(FloatVector x) {
        var e = exp(x.mul(x).mul(-0.5f));
        return twoCdf(x, e).mul(0.5f).add(x.mul(e).mul(INV_SQRT_2PI));
    }

    private static float twoCdf(float x, float e) {
        float z = Math.abs(x) * INV_SQRT2;
        float t = 1f / (z * ERF_P + 1f);
        float poly = Math.fma(t, A5, A4);
        poly = Math.fma(poly, t, A3);
        poly = Math.fma(poly, t, A2);
        poly = Math.fma(poly, t, A1);
        float q = poly * t * e;
        return x >= 0f ? -q + 2f : q;
    }

    public static float gelu(float x) {
        float e = exp(x * x * -0.5f);
        return twoCdf(x, e) * x * 0.5f;
    }

    public static float geluDerivative(float x) {
        float e = exp(x * x * -0.5f);
        return twoCdf(x, e) * 0.5f + x * e * INV_SQRT_2PI;
    }

    /** Sum of the lanes in lane order (deterministic, unlike reduceLanes(ADD)). */
    public static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    /**
     * {@link #sumLanes} of a vector the caller stored into {@code lanes}: the same bits, for callers whose C2
     * compilation may not inline a method taking a vector (which then boxes it, see {@link Softmax}).
     */
    public static float sumInOrder(float[] lanes) {
        float s = 0f;
        for (float v : lanes) s += v;
        return s;
    }
}
