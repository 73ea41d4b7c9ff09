package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot-product micro-kernels over compressed weight rows (int8, int4 and bfloat16 in memory segments): one input
 * row against four weight rows at a time (decoding and small batches, where the work is reading W once). Each
 * weight is decoded in registers right before its multiply-adds and never stored; {@link #decodeRow} writes a row
 * out as floats for the panels that longer inputs multiply with the float GEMM.
 *
 * <p>Decoding uses only operations that C2 compiles to single instructions: a byte load sign-extended to int
 * (B2I) or float (B2F) lanes with the same lane count, int shifts, and int-to-float conversion. A 4-bit byte b
 * sign-extended to an int i holds the high nibble as {@code i >> 4} and the low one as {@code (i << 28) >> 28}.
 * Byte shifts and conversions that change the lane count are avoided: on JDK 25 they fall back to Java code that
 * allocates. The kernels are kept small enough for C2 to inline every Vector API call into them (an earlier,
 * larger int4 kernel hit the inlining node limit, and each non-inlined call boxed its vectors).
 *
 * <p>Per group the products accumulate unscaled and the group's scale is applied once (one multiply-add per group
 * and row). Row remainders use {@link #rowDot}, the scalar form of the same sums.
 */
final class WeightDot {
    static final VectorSpecies<Float> S = VectorWidth.floatSpecies();
    static final int VL = S.length();
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    /** Codes per load: one per float lane, but at least 8 (the narrowest byte vector); with VL 4 a load has two parts. */
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, 8 * VL)));
    private static final int BL = BYTES.length();
    private static final boolean TWO = BL == 2 * VL;
    private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * VL));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /** Bytes of a 4-bit block (32 codes). */
    private static final int BLOCK_BYTES = Quantization.INT4_BLOCK / 2;

    private WeightDot() {}

    private static ByteVector codes(MemorySegment w, long at) {
        return ByteVector.fromMemorySegment(BYTES, w, at, LE);
    }

    /** The first VL codes of b as floats. */
    private static FloatVector int8(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, S, 0);
    }

    /** Codes VL..2 VL - 1 of b as floats (only when a load has two parts). */
    private static FloatVector int8Part1(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, S, 1);
    }

    /** The first VL bytes of b sign-extended to ints. */
    private static IntVector ints(ByteVector b) {
        return (IntVector) b.convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static IntVector intsPart1(ByteVector b) {
        return (IntVector) b.convertShape(VectorOperators.B2I, INTS, 1);
    }

    /** The low nibbles of sign-extended bytes as floats in [-8, 7]. */
    private static FloatVector low(IntVector i) {
        return (FloatVector) i.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
    }

    /** The high nibbles of sign-extended bytes as floats in [-8, 7]. */
    private static FloatVector high(IntVector i) {
        return (FloatVector) i.lanewise(VectorOperators.ASHR, 4).convert(VectorOperators.I2F, 0);
    }

    /** VL bfloat16 values from byte {@code at} widened to floats: a bfloat16 is the top half of a float's bits. */
    private static FloatVector bf16(MemorySegment w, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(SHORTS, w, at, LE).convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * out[t] = dot(x[xo ..], W row t) for the four int8 rows t = 0..3 starting at byte o0, rb bytes apart; their
     * scales start at sc[s0], {@code groups} apart. It always overwrites out: callers that accumulate (beta) merge
     * afterwards, so no branch on beta is compiled into the kernel (a branch C2 first sees one way and deoptimizes
     * on when a caller passes the other).
     */
    static void int8x4(float[] x, int xo, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                       float[] out) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int sc1 = s0 + groups, sc2 = sc1 + groups, sc3 = sc2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float r0 = 0f, r1 = 0f, r2 = 0f, r3 = 0f;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs), j = from;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (; j + BL <= to; j += BL) {
                ByteVector b0 = codes(w, o0 + j), b1 = codes(w, o1 + j), b2 = codes(w, o2 + j), b3 = codes(w, o3 + j);
                FloatVector xv = FloatVector.fromArray(S, x, xo + j);
                a0 = int8(b0).fma(xv, a0);
                a1 = int8(b1).fma(xv, a1);
                a2 = int8(b2).fma(xv, a2);
                a3 = int8(b3).fma(xv, a3);
                if (TWO) {
                    xv = FloatVector.fromArray(S, x, xo + j + VL);
                    a0 = int8Part1(b0).fma(xv, a0);
                    a1 = int8Part1(b1).fma(xv, a1);
                    a2 = int8Part1(b2).fma(xv, a2);
                    a3 = int8Part1(b3).fma(xv, a3);
                }
            }
            float d0 = sc[s0 + g], d1 = sc[sc1 + g], d2 = sc[sc2 + g], d3 = sc[sc3 + g];
            t0 = a0.fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.fma(FloatVector.broadcast(S, d3), t3);
            if (j < to) { // a group that is not whole loads: only a row whose single group has k % BL elements left
                float u0 = 0f, u1 = 0f, u2 = 0f, u3 = 0f;
                for (; j < to; j++) {
                    float xv = x[xo + j];
                    u0 += w.get(ValueLayout.JAVA_BYTE, o0 + j) * xv;
                    u1 += w.get(ValueLayout.JAVA_BYTE, o1 + j) * xv;
                    u2 += w.get(ValueLayout.JAVA_BYTE, o2 + j) * xv;
                    u3 += w.get(ValueLayout.JAVA_BYTE, o3 + j) * xv;
                }
                r0 += d0 * u0; r1 += d1 * u1; r2 += d2 * u2; r3 += d3 * u3;
            }
        }
        out[0] = t0.reduceLanes(VectorOperators.ADD) + r0;
        out[1] = t1.reduceLanes(VectorOperators.ADD) + r1;
        out[2] = t2.reduceLanes(VectorOperators.ADD) + r2;
        out[3] = t3.reduceLanes(VectorOperators.ADD) + r3;
    }

    /**
     * out[t] = dot(x[xo ..], W row t), overwritten: {@link #int8x4} for 4-bit rows. Each block of 16
     * bytes holds elements j..j+15 (low nibbles) and j+16..j+31 (high); the two halves accumulate apart, for twice
     * the independent multiply-adds.
     */
    static void int4x4(float[] x, int xo, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                       float[] out) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int sc1 = s0 + groups, sc2 = sc1 + groups, sc3 = sc2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float r0 = 0f, r1 = 0f, r2 = 0f, r3 = 0f;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs), j = from;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, h0 = a0, h1 = a0, h2 = a0, h3 = a0;
            for (; j + Quantization.INT4_BLOCK <= to; j += Quantization.INT4_BLOCK) {
                for (int p = 0; p < BLOCK_BYTES; p += BL) { // one pass with 512-bit vectors
                    long at = (j >> 1) + p; // a group starts on a block boundary
                    ByteVector b0 = codes(w, o0 + at), b1 = codes(w, o1 + at), b2 = codes(w, o2 + at), b3 = codes(w, o3 + at);
                    int xl = xo + j + p, xh = xl + BLOCK_BYTES;
                    FloatVector vl = FloatVector.fromArray(S, x, xl), vh = FloatVector.fromArray(S, x, xh);
                    IntVector i0 = ints(b0), i1 = ints(b1), i2 = ints(b2), i3 = ints(b3);
                    a0 = low(i0).fma(vl, a0); h0 = high(i0).fma(vh, h0);
                    a1 = low(i1).fma(vl, a1); h1 = high(i1).fma(vh, h1);
                    a2 = low(i2).fma(vl, a2); h2 = high(i2).fma(vh, h2);
                    a3 = low(i3).fma(vl, a3); h3 = high(i3).fma(vh, h3);
                    if (TWO) {
                        vl = FloatVector.fromArray(S, x, xl + VL);
                        vh = FloatVector.fromArray(S, x, xh + VL);
                        i0 = intsPart1(b0); i1 = intsPart1(b1); i2 = intsPart1(b2); i3 = intsPart1(b3);
                        a0 = low(i0).fma(vl, a0); h0 = high(i0).fma(vh, h0);
                        a1 = low(i1).fma(vl, a1); h1 = high(i1).fma(vh, h1);
                        a2 = low(i2).fma(vl, a2); h2 = high(i2).fma(vh, h2);
                        a3 = low(i3).fma(vl, a3); h3 = high(i3).fma(vh, h3);
                    }
                }
            }
            float d0 = sc[s0 + g], d1 = sc[sc1 + g], d2 = sc[sc2 + g], d3 = sc[sc3 + g];
            t0 = a0.add(h0).fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.add(h1).fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.add(h2).fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.add(h3).fma(FloatVector.broadcast(S, d3), t3);
            if (j < to) { // only in a row whose single group ends inside a block
                float u0 = 0f, u1 = 0f, u2 = 0f, u3 = 0f;
                for (; j < to; j++) {
                    float xv = x[xo + j];
                    u0 += Quantization.code(4, w, o0, j) * xv;
                    u1 += Quantization.code(4, w, o1, j) * xv;
                    u2 += Quantization.code(4, w, o2, j) * xv;
                    u3 += Quantization.code(4, w, o3, j) * xv;
                }
                r0 += d0 * u0; r1 += d1 * u1; r2 += d2 * u2; r3 += d3 * u3;
            }
        }
        out[0] = t0.reduceLanes(VectorOperators.ADD) + r0;
        out[1] = t1.reduceLanes(VectorOperators.ADD) + r1;
        out[2] = t2.reduceLanes(VectorOperators.ADD) + r2;
        out[3] = t3.reduceLanes(VectorOperators.ADD) + r3;
    }

    /**
     * {@link #int4x4} for the common format of one scale per block (group size 32, k a multiple of 32): each block's
     * products are scaled and added as they come, without a group loop around them.
     */
    static void int4x4PerBlock(float[] x, int xo, int k, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                               float[] out) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int sc1 = s0 + groups, sc2 = sc1 + groups, sc3 = sc2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        for (int g = 0, j = 0; j < k; g++, j += Quantization.INT4_BLOCK) {
            for (int p = 0; p < BLOCK_BYTES; p += BL) {
                long at = (j >> 1) + p;
                ByteVector b0 = codes(w, o0 + at), b1 = codes(w, o1 + at), b2 = codes(w, o2 + at), b3 = codes(w, o3 + at);
                int xl = xo + j + p, xh = xl + BLOCK_BYTES;
                FloatVector vl = FloatVector.fromArray(S, x, xl), vh = FloatVector.fromArray(S, x, xh);
                IntVector i0 = ints(b0), i1 = ints(b1), i2 = ints(b2), i3 = ints(b3);
                t0 = high(i0).fma(vh, low(i0).mul(vl)).fma(FloatVector.broadcast(S, sc[s0 + g]), t0);
                t1 = high(i1).fma(vh, low(i1).mul(vl)).fma(FloatVector.broadcast(S, sc[sc1 + g]), t1);
                t2 = high(i2).fma(vh, low(i2).mul(vl)).fma(FloatVector.broadcast(S, sc[sc2 + g]), t2);
                t3 = high(i3).fma(vh, low(i3).mul(vl)).fma(FloatVector.broadcast(S, sc[sc3 + g]), t3);
                if (TWO) {
                    vl = FloatVector.fromArray(S, x, xl + VL);
                    vh = FloatVector.fromArray(S, x, xh + VL);
                    i0 = intsPart1(b0); i1 = intsPart1(b1); i2 = intsPart1(b2); i3 = intsPart1(b3);
                    t0 = high(i0).fma(vh, low(i0).mul(vl)).fma(FloatVector.broadcast(S, sc[s0 + g]), t0);
                    t1 = high(i1).fma(vh, low(i1).mul(vl)).fma(FloatVector.broadcast(S, sc[sc1 + g]), t1);
                    t2 = high(i2).fma(vh, low(i2).mul(vl)).fma(FloatVector.broadcast(S, sc[sc2 + g]), t2);
                    t3 = high(i3).fma(vh, low(i3).mul(vl)).fma(FloatVector.broadcast(S, sc[sc3 + g]), t3);
                }
            }
        }
        out[0] = t0.reduceLanes(VectorOperators.ADD);
        out[1] = t1.reduceLanes(VectorOperators.ADD);
        out[2] = t2.reduceLanes(VectorOperators.ADD);
        out[3] = t3.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #int8x4} for bfloat16 rows (no scales): rows rb bytes apart from byte o0, out overwritten. */
    static void bf16x4(float[] x, int xo, int k, MemorySegment w, long o0, long rb, float[] out) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (int bound = S.loopBound(k); j < bound; j += VL) {
            FloatVector xv = FloatVector.fromArray(S, x, xo + j);
            long at = 2L * j;
            a0 = bf16(w, o0 + at).fma(xv, a0);
            a1 = bf16(w, o1 + at).fma(xv, a1);
            a2 = bf16(w, o2 + at).fma(xv, a2);
            a3 = bf16(w, o3 + at).fma(xv, a3);
        }
        float r0 = 0f, r1 = 0f, r2 = 0f, r3 = 0f;
        for (; j < k; j++) {
            float xv = x[xo + j];
            r0 += bf16At(w, o0, j) * xv; r1 += bf16At(w, o1, j) * xv; r2 += bf16At(w, o2, j) * xv; r3 += bf16At(w, o3, j) * xv;
        }
        out[0] = a0.reduceLanes(VectorOperators.ADD) + r0;
        out[1] = a1.reduceLanes(VectorOperators.ADD) + r1;
        out[2] = a2.reduceLanes(VectorOperators.ADD) + r2;
        out[3] = a3.reduceLanes(VectorOperators.ADD) + r3;
    }

    private static float bf16At(MemorySegment w, long row, int j) {
        return Float.intBitsToFloat((w.get(LE_SHORT, row + 2L * j) & 0xFFFF) << 16);
    }

    /**
     * The scalar form for a single row (row remainders): bits 8 or 4 with scales from sc[s0], or bits 16 for
     * bfloat16 (sc unused).
     */
    static void rowDot(int bits, float[] x, int xo, int k, int gs, MemorySegment w, long o, float[] sc, int s0,
                       float[] c, int co, float beta) {
        float sum = 0f;
        if (bits == 16) {
            for (int j = 0; j < k; j++) sum += bf16At(w, o, j) * x[xo + j];
        } else {
            for (int g = 0, from = 0; from < k; g++, from += gs) {
                float u = 0f;
                for (int j = from, to = Math.min(k, from + gs); j < to; j++) u += Quantization.code(bits, w, o, j) * x[xo + j];
                sum += sc[s0 + g] * u;
            }
        }
        c[co] = beta == 0f ? sum : sum + beta * c[co];
    }

    /**
     * dst[dOff + j] = element j of the row at byte o (bits 4, 8 with scales from sc[s0], or 16 for bfloat16), for j
     * in [0, k): the panels that longer prompts multiply with the float GEMM.
     */
    static void decodeRow(int bits, int k, int gs, MemorySegment w, long o, float[] sc, int s0, float[] dst, int dOff) {
        int j = 0;
        if (bits == 16) {
            for (; j + VL <= k; j += VL) bf16(w, o + 2L * j).intoArray(dst, dOff + j);
            for (; j < k; j++) dst[dOff + j] = bf16At(w, o, j);
            return;
        }
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs);
            float d = sc[s0 + g];
            j = from;
            if (bits == 8) {
                for (; j + BL <= to; j += BL) {
                    ByteVector b = codes(w, o + j);
                    int8(b).mul(d).intoArray(dst, dOff + j);
                    if (TWO) int8Part1(b).mul(d).intoArray(dst, dOff + j + VL);
                }
            } else {
                for (; j + Quantization.INT4_BLOCK <= to; j += Quantization.INT4_BLOCK)
                    for (int p = 0; p < BLOCK_BYTES; p += BL) {
                        ByteVector b = codes(w, o + (j >> 1) + p);
                        int at = dOff + j + p;
                        IntVector i = ints(b);
                        low(i).mul(d).intoArray(dst, at);
                        high(i).mul(d).intoArray(dst, at + BLOCK_BYTES);
                        if (TWO) {
                            i = intsPart1(b);
                            low(i).mul(d).intoArray(dst, at + VL);
                            high(i).mul(d).intoArray(dst, at + VL + BLOCK_BYTES);
                        }
                    }
            }
            for (; j < to; j++) dst[dOff + j] = d * Quantization.code(bits, w, o, j);
        }
    }

}
