package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Widening of 16-bit floats (bfloat16 or IEEE half) stored little-endian in a memory segment, as safetensors
 * stores them: the half-precision GEMMs widen panels of weights with it, and embedding lookups widen rows.
 */
public final class HalfFloats {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HalfFloats() {}

    /**
     * dst[dstOff + i] = the float value of the i-th 16-bit element at byte {@code srcByte} of src, for i in [0, n):
     * bfloat16 when {@code bf16}, IEEE half otherwise. Exact (every 16-bit float is a float).
     *
     * @throws IndexOutOfBoundsException if the elements lie outside src or dst
     */
    public static void widen(boolean bf16, MemorySegment src, long srcByte, float[] dst, int dstOff, int n) {
        if (bf16) {
            // bfloat16 is the top half of a float32: widening is a shift, exact for every value incl. NaN and inf
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat((src.get(LE_SHORT, srcByte + 2L * i) & 0xFFFF) << 16);
        } else {
            for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(LE_SHORT, srcByte + 2L * i));
        }
    }
}
