package dev.kindling.kernels;

/**
 * Conversions between float arrays and 16-bit float arrays ({@code short[]} holding bfloat16 or IEEE half bits):
 * the storage side of mixed precision, where activations and weight copies live in 16 bits and are widened to
 * float for the GEMM. Rounding is to nearest, ties to even, as PyTorch rounds; NaN stays NaN.
 * {@link dev.kindling.io.Half} converts single values and is the scalar oracle of these loops.
 */
public final class HalfArrays {
    private HalfArrays() {}

    /** dst[dstOff + i] = the float value of src[srcOff + i] for i in [0, n); exact. */
    public static void widen(boolean bf16, short[] src, int srcOff, float[] dst, int dstOff, int n) {
        check("widen", src.length, srcOff, dst.length, dstOff, n);
        if (bf16) {
            // bfloat16 is the top half of a float: a shift, exact for every value including NaN and infinities
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat(src[srcOff + i] << 16);
        } else {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src[srcOff + i]);
        }
    }

    /** dst[dstOff + i] = src[srcOff + i] rounded to 16 bits, for i in [0, n). */
    public static void narrow(boolean bf16, float[] src, int srcOff, short[] dst, int dstOff, int n) {
        check("narrow", src.length, srcOff, dst.length, dstOff, n);
        if (bf16) {
            for (int i = 0; i < n; i++) dst[dstOff + i] = toBf16(src[srcOff + i]);
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
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat(toBf16(src[srcOff + i]) << 16);
        } else {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(Float.floatToFloat16(src[srcOff + i]));
        }
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
