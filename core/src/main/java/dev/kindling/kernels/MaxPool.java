package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling with a 2x2 window and stride 2 on one [h, w] plane, keeping the position of each maximum for
 * backward, under PyTorch's rule: taps are scanned row by row and one replaces the running maximum when it is
 * larger or NaN, so the first maximum (or the first NaN) wins. {@link #pool2x2Scalar} is the scalar twin.
 */
public final class MaxPool {
    private static final VectorSpecies<Float> S = VectorWidth.floatSpecies();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final int VL = S.length();
    /** Lane l holds 2l and 2l + 1: the even and odd taps of two loaded vectors, for selectFrom. */
    private static final FloatVector EVEN = FloatVector.fromArray(S, lanes(0), 0), ODD = FloatVector.fromArray(S, lanes(1), 0);
    private static final IntVector TWICE_LANE = IntVector.fromArray(I, twiceLane(), 0);
    /** 1 in the upper half of the lanes, 0 in the lower: the second output row of {@link #pool2x2Pairs}. */
    private static final IntVector UPPER_HALF = IntVector.fromArray(I, upperHalf(), 0);

    private MaxPool() {}

    private static float[] lanes(int first) {
        float[] v = new float[VL];
        for (int l = 0; l < VL; l++) v[l] = 2 * l + first;
        return v;
    }

    private static int[] upperHalf() {
        int[] v = new int[VL];
        for (int l = VL / 2; l < VL; l++) v[l] = 1;
        return v;
    }

    private static int[] twiceLane() {
        int[] v = new int[VL];
        for (int l = 0; l < VL; l++) v[l] = 2 * l;
        return v;
    }

    /**
     * Pools the plane at {@code x[xOff]} (row length w, at least 2 * oh rows and 2 * ow columns) into the oh x ow
     * outputs at {@code y[out]}, and writes each maximum's position in the plane ({@code iy * w + ix}) to
     * {@code arg[out]}. Output rows are done VL outputs at a time: two vector loads per input row, split into
     * even and odd taps by a two-vector permute. Rows exactly half a vector wide (a 16x16 plane with 512-bit
     * vectors, the small CNN's third convolution) take two output rows per vector instead ({@link #pool2x2Pairs}).
     */
    public static void pool2x2(float[] x, int xOff, int w, float[] y, int[] arg, int out, int oh, int ow) {
        int vecEnd = ow / VL * VL, oy0 = 0;
        if (2 * ow == VL) oy0 = pool2x2Pairs(x, xOff, w, y, arg, out, oh, ow);
        for (int oy = oy0; oy < oh; oy++) {
            int r0 = 2 * oy * w, r1 = r0 + w, q = out + oy * ow;
            for (int ox = 0; ox < vecEnd; ox += VL) {
                int c = 2 * ox;
                var a0 = FloatVector.fromArray(S, x, xOff + r0 + c);
                var a1 = FloatVector.fromArray(S, x, xOff + r0 + c + VL);
                var b0 = FloatVector.fromArray(S, x, xOff + r1 + c);
                var b1 = FloatVector.fromArray(S, x, xOff + r1 + c + VL);
                FloatVector best = EVEN.selectFrom(a0, a1);
                IntVector at = TWICE_LANE.add(r0 + c);
                FloatVector v = ODD.selectFrom(a0, a1);
                VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                best = best.blend(v, take);
                at = at.blend(TWICE_LANE.add(r0 + c + 1), take.cast(I));
                v = EVEN.selectFrom(b0, b1);
                take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                best = best.blend(v, take);
                at = at.blend(TWICE_LANE.add(r1 + c), take.cast(I));
                v = ODD.selectFrom(b0, b1);
                take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                best = best.blend(v, take);
                at = at.blend(TWICE_LANE.add(r1 + c + 1), take.cast(I));
                best.intoArray(y, q + ox);
                at.intoArray(arg, q + ox);
            }
            if (vecEnd < ow) rowScalar(x, xOff, w, y, arg, q, r0, vecEnd, ow);
        }
    }

    /**
     * {@link #pool2x2} for outputs rows of VL / 2 (so 2 * ow = VL &lt;= w): output rows oy and oy + 1 are one vector,
     * whose lower half reads input rows 2oy, 2oy + 1 and upper half rows 2oy + 2, 2oy + 3 (the even/odd permute of
     * two vectors loaded from rows 2 apart puts them there). Returns the first output row left to do (oh is odd).
     */
    private static int pool2x2Pairs(float[] x, int xOff, int w, float[] y, int[] arg, int out, int oh, int ow) {
        IntVector lanes = TWICE_LANE.add(UPPER_HALF.mul(2 * w - VL)); // lane l: its window's first tap, relative to row 2oy
        int oy = 0;
        for (; oy + 2 <= oh; oy += 2) {
            int r0 = 2 * oy * w, r1 = r0 + w, q = out + oy * ow;
            var a0 = FloatVector.fromArray(S, x, xOff + r0);
            var a1 = FloatVector.fromArray(S, x, xOff + r0 + 2 * w);
            var b0 = FloatVector.fromArray(S, x, xOff + r1);
            var b1 = FloatVector.fromArray(S, x, xOff + r1 + 2 * w);
            FloatVector best = EVEN.selectFrom(a0, a1);
            IntVector at = lanes.add(r0);
            FloatVector v = ODD.selectFrom(a0, a1);
            VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
            best = best.blend(v, take);
            at = at.blend(lanes.add(r0 + 1), take.cast(I));
            v = EVEN.selectFrom(b0, b1);
            take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
            best = best.blend(v, take);
            at = at.blend(lanes.add(r1), take.cast(I));
            v = ODD.selectFrom(b0, b1);
            take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
            best = best.blend(v, take);
            at = at.blend(lanes.add(r1 + 1), take.cast(I));
            best.intoArray(y, q);
            at.intoArray(arg, q);
        }
        return oy;
    }

    /** The scalar twin of {@link #pool2x2}. */
    public static void pool2x2Scalar(float[] x, int xOff, int w, float[] y, int[] arg, int out, int oh, int ow) {
        for (int oy = 0; oy < oh; oy++) rowScalar(x, xOff, w, y, arg, out + oy * ow, 2 * oy * w, 0, ow);
    }

    /**
     * Outputs [ox0, ox1) of the output row at y[q] whose window rows start at plane offset r0. Without branches: on
     * real activations which tap holds the maximum is unpredictable, and a mispredicted branch per tap costs more
     * than the rest of the loop; see {@link #larger}.
     */
    private static void rowScalar(float[] x, int xOff, int w, float[] y, int[] arg, int q, int r0, int ox0, int ox1) {
        for (int ox = ox0; ox < ox1; ox++) {
            int c = r0 + 2 * ox, d = c + w, at = c;
            float best = x[xOff + c], v = x[xOff + c + 1];
            int t = larger(v, best);
            best = select(t, v, best);
            at += t * (c + 1 - at);
            v = x[xOff + d];
            t = larger(v, best);
            best = select(t, v, best);
            at += t * (d - at);
            v = x[xOff + d + 1];
            t = larger(v, best);
            best = select(t, v, best);
            at += t * (d + 1 - at);
            y[q + ox] = best;
            arg[q + ox] = at;
        }
    }

    /** v when t is 1, best when t is 0, by integer arithmetic on the bits (a conditional here compiled to a branch). */
    private static float select(int t, float v, float best) {
        int b = Float.floatToRawIntBits(best);
        return Float.intBitsToFloat(b + t * (Float.floatToRawIntBits(v) - b));
    }

    /**
     * 1 when v replaces best as a window's maximum under PyTorch's rule ({@code v > best || isnan(v)}), else 0,
     * without a data-dependent branch: the sign of {@code best - v}, unless that difference is zero (signed
     * zeros compare equal) or NaN (rare: only then a branch, which the CPU predicts).
     */
    static int larger(float v, float best) {
        float diff = best - v;
        if (diff != diff) return v != v ? 1 : 0;
        int bits = Float.floatToRawIntBits(diff);
        return (bits >>> 31) & (((bits & 0x7fffffff) + 0x7fffffff) >>> 31);
    }
}
