package dev.kindling.io;

/**
 * Conversions between {@code float} and the two 16-bit float formats, with the bits held in a {@code short}.
 *
 * <ul>
 *   <li><b>bfloat16</b>: the upper half of an IEEE binary32 (8 exponent bits, 7 mantissa bits), same range as float.
 *   <li><b>float16</b> (IEEE binary16): 5 exponent bits, 10 mantissa bits, largest finite value 65504.
 * </ul>
 *
 * Float → 16-bit conversions round to nearest, ties to even, as PyTorch does; values beyond the range become
 * infinities and NaN stays NaN.
 */
public final class Half {
    private Half() {}

    /** The float whose upper 16 bits are {@code bits}; exact (every bfloat16 is a float). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * The nearest bfloat16, ties to even. NaN keeps its sign and the top of its payload and is made quiet, so a NaN
     * never turns into an infinity by truncation.
     */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x0040);
        // Adding 0x7FFF plus the lowest kept bit rounds up exactly when the dropped half is > 0x8000, or == 0x8000
        // with an odd kept part; a carry into the exponent is correct rounding (up to infinity for huge values).
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The float value of IEEE binary16 {@code bits}; exact. */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** The nearest IEEE binary16, ties to even; beyond ±65520 becomes ±infinity. */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }
}
