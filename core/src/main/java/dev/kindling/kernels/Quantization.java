package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Group-wise symmetric integer weights: the storage layout that {@link QuantizedGemm} reads, and the conversions
 * to and from floats.
 *
 * <p>A matrix W [rows, cols] (a Linear weight [out, in], or an embedding table) is split, row by row, into
 * groups of {@code groupSize} consecutive columns (the last one may be shorter). Each group g of row r has a
 * float scale {@code d = scales[r * groups + g]} and each element is {@code d * q} with an integer code q:
 * <ul>
 *   <li>8 bits: q in [-127, 127], one signed byte per element, rows {@code cols} bytes apart; d = max|w| / 127.</li>
 *   <li>4 bits: q in [-8, 7], stored in a nibble as 4-bit two's complement. Each block of 32 elements takes 16 bytes:
 *       byte j holds element j in its low nibble and element j + 16 in its high one (llama.cpp's Q4_0 order, so that
 *       a vector load of 16 bytes yields 16 consecutive elements from each nibble). Two's complement lets a kernel
 *       read the high nibble as the signed byte {@code b & 0xF0} = 16 q, with no shift. Rows are padded with zeros to whole
 *       blocks: {@link #rowBytes} = ceil(cols / 32) * 16. d = w* / -8 (w* the element of largest magnitude: it
 *       is exact and the code -8 is used) or |w*| / 7, whichever has the smaller squared error on the group.</li>
 * </ul>
 * The group size is a multiple of 32 (so that 4-bit groups are whole blocks and vector loops need no tail
 * inside a group), or equal to {@code cols}: one scale per row.
 */
public final class Quantization {
    /** Elements per 4-bit block: 16 bytes, two nibbles each. */
    public static final int INT4_BLOCK = 32;

    private Quantization() {}

    /**
     * Checks a (bits, group size) pair for a matrix with {@code cols} columns.
     *
     * @throws IllegalArgumentException naming the values if bits is not 4 or 8, or the group size is not a
     *     positive multiple of 32 and not {@code cols}
     */
    public static void check(int bits, int groupSize, int cols) {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("quantization: bits must be 4 or 8, got " + bits);
        if (cols < 0) throw new IllegalArgumentException("quantization: cols must be >= 0, got " + cols);
        if (groupSize <= 0 || groupSize % INT4_BLOCK != 0 && groupSize != cols)
            throw new IllegalArgumentException("quantization: group size " + groupSize + " must be a positive multiple of "
                    + INT4_BLOCK + " or the row length " + cols);
    }

    /** Bytes of one stored row of {@code cols} elements. */
    public static long rowBytes(int bits, int cols) {
        return bits == 8 ? cols : (long) (cols + INT4_BLOCK - 1) / INT4_BLOCK * (INT4_BLOCK / 2);
    }

    /** Scales per row: ceil(cols / groupSize) (at least 1). */
    public static int groups(int cols, int groupSize) {
        return Math.max(1, (cols + groupSize - 1) / groupSize);
    }

    /**
     * Quantizes w [rows, cols] (row-major from {@code w[wOff]}) into {@code codes} (rows * {@link #rowBytes}
     * bytes) and {@code scales} (rows * {@link #groups} floats).
     *
     * @throws IllegalArgumentException if the format is invalid (see {@link #check}), an array is too short, or a
     *     weight is not finite
     */
    public static void quantize(int bits, int groupSize, float[] w, int wOff, int rows, int cols, byte[] codes, float[] scales) {
        check(bits, groupSize, cols);
        long rb = rowBytes(bits, cols);
        int groups = groups(cols, groupSize);
        if (wOff < 0 || (long) wOff + (long) rows * cols > w.length)
            throw new IllegalArgumentException("quantize: " + rows + " x " + cols + " weights at " + wOff + " exceed the array of " + w.length);
        if (codes.length < rows * rb)
            throw new IllegalArgumentException("quantize: codes hold " + codes.length + " bytes, need " + rows * rb);
        if (scales.length < (long) rows * groups)
            throw new IllegalArgumentException("quantize: scales hold " + scales.length + " floats, need " + (long) rows * groups);
        for (int r = 0; r < rows; r++) {
            int row = wOff + r * cols;
            for (int g = 0; g < groups; g++) {
                int from = g * groupSize, to = Math.min(cols, from + groupSize);
                float extreme = 0f; // the element of largest magnitude, sign kept
                for (int j = from; j < to; j++) {
                    float v = w[row + j];
                    if (!Float.isFinite(v))
                        throw new IllegalArgumentException("quantize: weight [" + r + ", " + j + "] is " + v);
                    if (Math.abs(v) > Math.abs(extreme)) extreme = v;
                }
                float d = bits == 8 ? Math.abs(extreme) / 127f : int4Scale(w, row + from, row + to, extreme);
                float inv = d == 0f ? 0f : 1f / d;
                scales[r * groups + g] = d;
                for (int j = from; j < to; j++) {
                    int q = Math.round(w[row + j] * inv);
                    if (bits == 8) codes[(int) (r * rb) + j] = (byte) Math.max(-127, Math.min(127, q));
                    else setNibble(codes, (int) (r * rb), j, Math.max(-8, Math.min(7, q)));
                }
            }
            if (bits == 4) // padding past cols decodes to 0
                for (int j = cols; j < rb * 2; j++) setNibble(codes, (int) (r * rb), j, 0);
        }
    }

    /**
     * The better of two 4-bit scales that both keep the extreme exact: extreme / -8 uses the code -8 but clamps
     * the other sign's values near |extreme| to 7; |extreme| / 7 clamps nothing but has a coarser step. The one
     * with the smaller squared error over the group wins.
     */
    static float int4Scale(float[] w, int from, int to, float extreme) {
        if (extreme == 0f) return 0f; // not -0f
        float best = extreme / -8f, alt = Math.abs(extreme) / 7f;
        return squaredError(w, from, to, alt) < squaredError(w, from, to, best) ? alt : best;
    }

    private static double squaredError(float[] w, int from, int to, float d) {
        if (d == 0f) return 0;
        double sum = 0;
        for (int j = from; j < to; j++) {
            double e = w[j] - d * Math.max(-8, Math.min(7, Math.round(w[j] / d)));
            sum += e * e;
        }
        return sum;
    }

    static void setNibble(byte[] codes, int rowByte, int j, int q) {
        int at = rowByte + j / INT4_BLOCK * (INT4_BLOCK / 2) + j % (INT4_BLOCK / 2);
        int code = q & 0xF; // 4-bit two's complement
        codes[at] = (byte) (j % INT4_BLOCK < INT4_BLOCK / 2 ? (codes[at] & 0xF0) | code : (codes[at] & 0x0F) | code << 4);
    }

    /** The integer code q of element j of the row whose bytes start at {@code rowByte} in {@code codes}. */
    static int code(int bits, MemorySegment codes, long rowByte, int j) {
        if (bits == 8) return codes.get(ValueLayout.JAVA_BYTE, rowByte + j);
        int b = codes.get(ValueLayout.JAVA_BYTE, rowByte + j / INT4_BLOCK * (INT4_BLOCK / 2) + j % (INT4_BLOCK / 2)) & 0xFF;
        return ((j % INT4_BLOCK < INT4_BLOCK / 2 ? b & 0xF : b >>> 4) ^ 8) - 8; // sign-extend the nibble
    }

    /**
     * dst[dstOff + j] = element j of row {@code row} for j in [0, cols): an embedding lookup widens only the rows
     * it gathers. {@code codes} holds the rows from byte {@code codesOff}, {@code scales} from {@code scalesOff}.
     */
    public static void dequantizeRow(int bits, int groupSize, int cols, MemorySegment codes, long codesOff, float[] scales,
                                     int scalesOff, int row, float[] dst, int dstOff) {
        long rowByte = codesOff + row * rowBytes(bits, cols);
        int s = scalesOff + row * groups(cols, groupSize);
        for (int j = 0; j < cols; j++) dst[dstOff + j] = scales[s + j / groupSize] * code(bits, codes, rowByte, j);
    }
}
