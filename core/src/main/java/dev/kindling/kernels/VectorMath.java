package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh in float from additions, multiplications and bit operations only (Cephes' expf and tanhf), each
 * as a vector and a scalar twin that perform the same operations in the same order, so both give the same bits.
 *
 * <p>Why not the Vector API's EXP and TANH lanes: their results differ in the last bits between interpreted and
 * JIT-compiled code (SVML stubs vs the Java fallback), so a training run changed with JIT timing and a resumed
 * run did not end where an uninterrupted one did. Basic IEEE operations give the same result everywhere.
 * Accuracy: a dense sweep found at most 1 ulp from the correctly rounded value; VectorMathTest allows 2 for exp
 * and 3 for tanh.
 */
final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, found in the low mantissa bits. */
    private static final float ROUNDER = 0x1.8p23f;
    private static final int ROUNDER_BITS = 0x4B400000;
    // ln 2 = C1 + C2, C1 with few bits so that k * C1 is exact (Cody and Waite)
    private static final float C1 = 0.693359375f, C2 = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    // inputs are clamped to [LO, HI]: exp(-104) rounds to 0 and exp(89) overflows, so the clamp changes no result
    private static final float LO = -104f, HI = 89f;

    /** e^x: k = round(x / ln 2), r = x - k ln 2, e^r by a degree-7 polynomial, times 2^k applied as two halves. */
    static float exp(float x) {
        if (x != x) return x;
        float xc = Math.min(Math.max(x, LO), HI);
        float t = xc * LOG2E + ROUNDER;
        float kf = t - ROUNDER;
        int k = Float.floatToRawIntBits(t) - ROUNDER_BITS;
        float r = xc - kf * C1;
        r = r - kf * C2;
        float z = r * r;
        float p = P0;
        p = p * r + P1;
        p = p * r + P2;
        p = p * r + P3;
        p = p * r + P4;
        p = p * r + P5;
        float y = p * z + r + 1f;
        // 2^k as 2^(k/2) * 2^(k - k/2): each half is a normal float for every k in [-150, 129]
        int k1 = k >> 1, k2 = k - k1;
        return y * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
    }

    /** The vector twin of {@link #exp(float)}. */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> nan = x.test(VectorOperators.IS_NAN);
        FloatVector xc = x.lanewise(VectorOperators.MAX, LO).lanewise(VectorOperators.MIN, HI);
        FloatVector t = xc.mul(LOG2E).add(ROUNDER);
        FloatVector kf = t.sub(ROUNDER);
        IntVector k = t.reinterpretAsInts().sub(ROUNDER_BITS);
        FloatVector r = xc.sub(kf.mul(C1));
        r = r.sub(kf.mul(C2));
        FloatVector z = r.mul(r);
        FloatVector p = FloatVector.broadcast(x.species(), P0);
        p = p.mul(r).add(P1);
        p = p.mul(r).add(P2);
        p = p.mul(r).add(P3);
        p = p.mul(r).add(P4);
        p = p.mul(r).add(P5);
        FloatVector y = p.mul(z).add(r).add(1f);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1), k2 = k.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2).blend(x, nan);
    }

    private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f, T3 = 1.33314422036e-1f,
            T4 = -3.33332819422e-1f;

    /** tanh x: an odd polynomial below |x| = 0.625, else 1 - 2 / (e^(2|x|) + 1) with the sign of x. */
    static float tanh(float x) {
        float ax = Math.abs(x);
        if (ax > 0.625f) {
            float e = exp(ax + ax);
            float y = 1f - 2f / (e + 1f);
            return x < 0 ? -y : y;
        }
        float z = x * x;
        float p = T0;
        p = p * z + T1;
        p = p * z + T2;
        p = p * z + T3;
        p = p * z + T4;
        return p * z * x + x;
    }

    /** The vector twin of {@link #tanh(float)}. */
    static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector e = exp(ax.add(ax));
        FloatVector big = FloatVector.broadcast(x.species(), 1f).sub(FloatVector.broadcast(x.species(), 2f).div(e.add(1f)));
        big = big.blend(big.neg(), x.compare(VectorOperators.LT, 0f));
        FloatVector z = x.mul(x);
        FloatVector p = FloatVector.broadcast(x.species(), T0);
        p = p.mul(z).add(T1);
        p = p.mul(z).add(T2);
        p = p.mul(z).add(T3);
        p = p.mul(z).add(T4);
        FloatVector small = p.mul(z).mul(x).add(x);
        // NaN fails the comparison and takes the polynomial, which keeps it NaN, as the scalar does
        return small.blend(big, ax.compare(VectorOperators.GT, 0.625f));
    }
}
