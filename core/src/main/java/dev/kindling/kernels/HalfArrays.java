package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Conversions between float arrays and 16-bit float arrays ({@code short[]} holding bfloat16 or IEEE half bits):
 * the storage side of mixed precision, where activations and weight copies live in 16 bits and are widened to
 * float for the GEMM. Rounding is to nearest, ties to even, as PyTorch rounds; NaN stays NaN.
 * {@link dev.kindling.io.Half} converts single values and is the scalar oracle of these loops.
 */
public final class HalfArrays {
    /**
     * bfloat16 is bit arithmetic on ints, which the JIT does not vectorise from the scalar loops (they ran at 5-8 ns
     * per element against 0.1-1 for F16, whose conversions are intrinsics): these species do it explicitly, ints at
     * the float width and shorts with the same lane count.
     */
    private static final VectorSpecies<Float> F = VectorWidth.floatSpecies();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));
    /** F16 rounding goes through a short buffer of this many elements (narrow and widen are intrinsics; their composition is not). */
    private static final int CHUNK = 1024;

    private HalfArrays() {}

    /** dst[dstOff + i] = the float value of src[srcOff + i] for i in [0, n); exact. */
    public static void widen(boolean bf16, short[] src, int srcOff, float[] dst, int dstOff, int n) {
        check("widen", src.length, srcOff, dst.length, dstOff, n);
        if (bf16) {
            // bfloat16 is the top half of a float: a shift, exact for every value including NaN and infinities
            int i = 0;
            for (int end = S.loopBound(n); i < end; i += S.length()) {
                IntVector bits = (IntVector) ShortVector.fromArray(S, src, srcOff + i).convertShape(VectorOperators.S2I, I, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
            }
            for (; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat(src[srcOff + i] << 16);
        } else {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src[srcOff + i]);
        }
    }

    /** dst[dstOff + i] = src[srcOff + i] rounded to 16 bits, for i in [0, n). */
    public static void narrow(boolean bf16, float[] src, int srcOff, short[] dst, int dstOff, int n) {
        check("narrow", src.length, srcOff, dst.length, dstOff, n);
        if (bf16) {
            int i = 0;
            for (int end = I.loopBound(n); i < end; i += I.length())
                ((ShortVector) roundedBits(src, srcOff + i).convertShape(VectorOperators.I2S, S, 0)).intoArray(dst, dstOff + i);
            for (; i < n; i++) dst[dstOff + i] = toBf16(src[srcOff + i]);
        } else {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.floatToFloat16(src[srcOff + i]);
        }
    }

    /**
     * Rounds src[srcOff + i] to the nearest 16-bit value and stores it back as a float in dst (which may be src):
     * the values a 16-bit copy would hold, without leaving float storage.
     */
    public static void round(boolean bf16, float[] src, int srcOff, float[] dst, int dstOff, int n) {
        check("round", src.length, srcOff, dst.length, dstOff, n);
        if (bf16) {
            int i = 0;
            for (int end = I.loopBound(n); i < end; i += I.length())
                roundedBits(src, srcOff + i).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
            for (; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat(toBf16(src[srcOff + i]) << 16);
        } else {
            short[] buf = new short[Math.min(n, CHUNK)];
            for (int i = 0; i < n; i += CHUNK) {
                int len = Math.min(CHUNK, n - i);
                narrow(false, src, srcOff + i, buf, 0, len);
                widen(false, buf, 0, dst, dstOff + i, len);
            }
        }
    }

    /** The bfloat16 bits (in the low 16 of each int lane) of I.length() floats: {@link #toBf16} lane by lane. */
    private static IntVector roundedBits(float[] src, int off) {
        IntVector bits = FloatVector.fromArray(F, src, off).reinterpretAsInts();
        IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        // NaN: keep the sign and top of the payload and set the quiet bit, as toBf16 does
        var nan = bits.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
        return rounded.blend(bits.lanewise(VectorOperators.LSHR, 16).or(0x0040), nan);
    }

    /** Nearest bfloat16, ties to even; NaN is kept quiet (never rounded into an infinity). Same bits as Half.floatToBf16. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (f != f) return (short) ((bits >>> 16) | 0x0040);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void check(String op, int srcLength, int srcOff, int dstLength, int dstOff, int n) {
        if (n < 0 || srcOff < 0 || dstOff < 0 || (long) srcOff + n > srcLength || (long) dstOff + n > dstLength)
            throw new IndexOutOfBoundsException("HalfArrays." + op + ": " + n + " elements from source offset " + srcOff
                    + " (length " + srcLength + ") to destination offset " + dstOff + " (length " + dstLength + ")");
    }
}
