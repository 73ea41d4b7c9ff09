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
 * row against four weight rows at a time (decoding, where the work is reading W once), or a 4 x 4 tile of input
 * and weight rows (prompts and batches, where each decoded weight then serves four rows). Each weight is decoded
 * in registers right before its multiply-adds and never stored.
 *
 * <p>Integer codes are loaded 16 bytes at a time and widened to floats in {@code 16 / VL} parts; per group the
 * products accumulate unscaled and the group's scale is applied once (one multiply-add per group and row).
 * Row remainders use {@link #rowDot}, the scalar form of the same sums.
 */
final class WeightDot {
    static final VectorSpecies<Float> S = VectorWidth.floatSpecies();
    static final int VL = S.length();
    /** Elements per load of integer codes: 16 bytes (8-bit) or 16 bytes holding 32 nibbles (4-bit). */
    private static final int CH = 16, PARTS = Math.max(1, CH / VL);
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, S.vectorBitSize() / 2)));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final FloatVector SIXTEENTH = FloatVector.broadcast(S, 1f / 16);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private WeightDot() {}

    /** 16 consecutive 8-bit codes from byte {@code at}, part p (VL lanes) widened to floats. */
    private static FloatVector widen(ByteVector b, int p) {
        // a literal part when there is one: C2 expands the conversion as an intrinsic only for a constant part, and
        // the parts loop is not unrolled yet when it decides (else every call allocates)
        return (FloatVector) (PARTS == 1 ? b.castShape(S, 0) : b.castShape(S, p));
    }

    /** The low nibbles of 16 bytes as signed bytes q in [-8, 7]: (n ^ 8) - 8 sign-extends a 4-bit two's complement n. */
    private static ByteVector low(ByteVector b) {
        return b.and((byte) 15).lanewise(VectorOperators.XOR, (byte) 8).sub((byte) 8);
    }

    /**
     * The high nibbles of 16 bytes as signed bytes 16 q: masking keeps the sign bit in place, so no shift is needed
     * (byte shifts have no x86 instruction and the Vector API falls back to slow code for them, as it does for
     * byte-to-int and int-to-float conversions in these kernels on JDK 25: found with JFR). Scaled by 1/16 later.
     */
    private static ByteVector high16(ByteVector b) {
        return b.and((byte) 0xF0);
    }

    /**
     * c[co + t] = dot(x[xo ..], W row t) (+ beta * c[co + t]) for the four int8 rows t = 0..3 starting at byte o0,
     * rb bytes apart; their scales start at sc[s0], {@code groups} apart.
     */
    static void int8x4(float[] x, int xo, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                       float[] c, int co, float beta) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int sc1 = s0 + groups, sc2 = sc1 + groups, sc3 = sc2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float r0 = 0f, r1 = 0f, r2 = 0f, r3 = 0f;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs), j = from;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (; j + CH <= to; j += CH) {
                ByteVector b0 = ByteVector.fromMemorySegment(B16, w, o0 + j, LE), b1 = ByteVector.fromMemorySegment(B16, w, o1 + j, LE);
                ByteVector b2 = ByteVector.fromMemorySegment(B16, w, o2 + j, LE), b3 = ByteVector.fromMemorySegment(B16, w, o3 + j, LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xv = FloatVector.fromArray(S, x, xo + j + p * VL);
                    a0 = widen(b0, p).fma(xv, a0);
                    a1 = widen(b1, p).fma(xv, a1);
                    a2 = widen(b2, p).fma(xv, a2);
                    a3 = widen(b3, p).fma(xv, a3);
                }
            }
            float d0 = sc[s0 + g], d1 = sc[sc1 + g], d2 = sc[sc2 + g], d3 = sc[sc3 + g];
            t0 = a0.fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.fma(FloatVector.broadcast(S, d3), t3);
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
        store(c, co, beta, t0.reduceLanes(VectorOperators.ADD) + r0, t1.reduceLanes(VectorOperators.ADD) + r1,
                t2.reduceLanes(VectorOperators.ADD) + r2, t3.reduceLanes(VectorOperators.ADD) + r3);
    }

    /** {@link #int8x4} for 4-bit rows: each 16-byte load yields elements j..j+15 (low nibbles) and j+16..j+31 (high). */
    static void int4x4(float[] x, int xo, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                       float[] c, int co, float beta) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int sc1 = s0 + groups, sc2 = sc1 + groups, sc3 = sc2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float r0 = 0f, r1 = 0f, r2 = 0f, r3 = 0f;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs), j = from;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (; j + 2 * CH <= to; j += 2 * CH) {
                long at = j >> 1; // a group starts on a block boundary: 32 elements per 16 bytes
                ByteVector b0 = ByteVector.fromMemorySegment(B16, w, o0 + at, LE), b1 = ByteVector.fromMemorySegment(B16, w, o1 + at, LE);
                ByteVector b2 = ByteVector.fromMemorySegment(B16, w, o2 + at, LE), b3 = ByteVector.fromMemorySegment(B16, w, o3 + at, LE);
                ByteVector l0 = low(b0), l1 = low(b1), l2 = low(b2), l3 = low(b3);
                ByteVector h0 = high16(b0), h1 = high16(b1), h2 = high16(b2), h3 = high16(b3);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(S, x, xo + j + p * VL);
                    FloatVector xh = FloatVector.fromArray(S, x, xo + j + CH + p * VL).mul(SIXTEENTH); // high codes are 16 q
                    a0 = widen(h0, p).fma(xh, widen(l0, p).fma(xl, a0));
                    a1 = widen(h1, p).fma(xh, widen(l1, p).fma(xl, a1));
                    a2 = widen(h2, p).fma(xh, widen(l2, p).fma(xl, a2));
                    a3 = widen(h3, p).fma(xh, widen(l3, p).fma(xl, a3));
                }
            }
            float d0 = sc[s0 + g], d1 = sc[sc1 + g], d2 = sc[sc2 + g], d3 = sc[sc3 + g];
            t0 = a0.fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.fma(FloatVector.broadcast(S, d3), t3);
            float u0 = 0f, u1 = 0f, u2 = 0f, u3 = 0f;
            for (; j < to; j++) { // only in a row whose single group ends inside a block
                float xv = x[xo + j];
                u0 += Quantization.code(4, w, o0, j) * xv;
                u1 += Quantization.code(4, w, o1, j) * xv;
                u2 += Quantization.code(4, w, o2, j) * xv;
                u3 += Quantization.code(4, w, o3, j) * xv;
            }
            r0 += d0 * u0; r1 += d1 * u1; r2 += d2 * u2; r3 += d3 * u3;
        }
        store(c, co, beta, t0.reduceLanes(VectorOperators.ADD) + r0, t1.reduceLanes(VectorOperators.ADD) + r1,
                t2.reduceLanes(VectorOperators.ADD) + r2, t3.reduceLanes(VectorOperators.ADD) + r3);
    }

    /** VL bfloat16 values from byte {@code at} widened to floats: a bfloat16 is the top half of a float's bits. */
    private static FloatVector bf16(MemorySegment w, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(HALF, w, at, LE).convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** {@link #int8x4} for bfloat16 rows (no scales): rows rb bytes apart from byte o0. */
    static void bf16x4(float[] x, int xo, int k, MemorySegment w, long o0, long rb, float[] c, int co, float beta) {
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
        store(c, co, beta, a0.reduceLanes(VectorOperators.ADD) + r0, a1.reduceLanes(VectorOperators.ADD) + r1,
                a2.reduceLanes(VectorOperators.ADD) + r2, a3.reduceLanes(VectorOperators.ADD) + r3);
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
     * The 4 x 4 tile: four input rows (a[ao + i * lda ..], i = 0..3) against four int8 weight rows, 16 accumulators.
     * Each weight vector is decoded and scaled once and used by four rows, each input vector by four weights; needs
     * every group to be whole 16-element chunks ({@link #tileable}). C rows are ldc apart from c[co].
     */
    static void int8Tile(float[] a, int ao, int lda, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0,
                         int groups, float[] c, int co, int ldc, float beta) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int a1 = ao + lda, a2 = a1 + lda, a3 = a2 + lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs);
            FloatVector d0 = FloatVector.broadcast(S, sc[s0 + g]), d1 = FloatVector.broadcast(S, sc[s0 + groups + g]);
            FloatVector d2 = FloatVector.broadcast(S, sc[s0 + 2 * groups + g]), d3 = FloatVector.broadcast(S, sc[s0 + 3 * groups + g]);
            for (int j = from; j < to; j += CH) {
                ByteVector b0 = ByteVector.fromMemorySegment(B16, w, o0 + j, LE), b1 = ByteVector.fromMemorySegment(B16, w, o1 + j, LE);
                ByteVector b2 = ByteVector.fromMemorySegment(B16, w, o2 + j, LE), b3 = ByteVector.fromMemorySegment(B16, w, o3 + j, LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector w0 = widen(b0, p).mul(d0), w1 = widen(b1, p).mul(d1), w2 = widen(b2, p).mul(d2), w3 = widen(b3, p).mul(d3);
                    int at = j + p * VL;
                    FloatVector x = FloatVector.fromArray(S, a, ao + at);
                    c00 = w0.fma(x, c00); c01 = w1.fma(x, c01); c02 = w2.fma(x, c02); c03 = w3.fma(x, c03);
                    x = FloatVector.fromArray(S, a, a1 + at);
                    c10 = w0.fma(x, c10); c11 = w1.fma(x, c11); c12 = w2.fma(x, c12); c13 = w3.fma(x, c13);
                    x = FloatVector.fromArray(S, a, a2 + at);
                    c20 = w0.fma(x, c20); c21 = w1.fma(x, c21); c22 = w2.fma(x, c22); c23 = w3.fma(x, c23);
                    x = FloatVector.fromArray(S, a, a3 + at);
                    c30 = w0.fma(x, c30); c31 = w1.fma(x, c31); c32 = w2.fma(x, c32); c33 = w3.fma(x, c33);
                }
            }
        }
        storeTile(c, co, ldc, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }

    /** {@link #int8Tile} for 4-bit rows: the low nibbles (elements j..j+15) then the high ones (j+16..j+31) of each load. */
    static void int4Tile(float[] a, int ao, int lda, int k, int gs, MemorySegment w, long o0, long rb, float[] sc, int s0,
                         int groups, float[] c, int co, int ldc, float beta) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int a1 = ao + lda, a2 = a1 + lda, a3 = a2 + lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int g = 0, from = 0; from < k; g++, from += gs) {
            int to = Math.min(k, from + gs);
            FloatVector d0 = FloatVector.broadcast(S, sc[s0 + g]), d1 = FloatVector.broadcast(S, sc[s0 + groups + g]);
            FloatVector d2 = FloatVector.broadcast(S, sc[s0 + 2 * groups + g]), d3 = FloatVector.broadcast(S, sc[s0 + 3 * groups + g]);
            FloatVector e0 = d0.mul(SIXTEENTH), e1 = d1.mul(SIXTEENTH), e2 = d2.mul(SIXTEENTH), e3 = d3.mul(SIXTEENTH);
            for (int j = from; j < to; j += 2 * CH) {
                long at = j >> 1;
                ByteVector b0 = ByteVector.fromMemorySegment(B16, w, o0 + at, LE), b1 = ByteVector.fromMemorySegment(B16, w, o1 + at, LE);
                ByteVector b2 = ByteVector.fromMemorySegment(B16, w, o2 + at, LE), b3 = ByteVector.fromMemorySegment(B16, w, o3 + at, LE);
                ByteVector l0 = low(b0), l1 = low(b1), l2 = low(b2), l3 = low(b3);
                ByteVector h0 = high16(b0), h1 = high16(b1), h2 = high16(b2), h3 = high16(b3);
                for (int p = 0; p < PARTS; p++) {
                    // low nibbles: elements j + p*VL ..; high nibbles (16 q, scaled by d / 16): 16 further
                    FloatVector w0 = widen(l0, p).mul(d0), w1 = widen(l1, p).mul(d1), w2 = widen(l2, p).mul(d2), w3 = widen(l3, p).mul(d3);
                    int xo = j + p * VL;
                    FloatVector x = FloatVector.fromArray(S, a, ao + xo);
                    c00 = w0.fma(x, c00); c01 = w1.fma(x, c01); c02 = w2.fma(x, c02); c03 = w3.fma(x, c03);
                    x = FloatVector.fromArray(S, a, a1 + xo);
                    c10 = w0.fma(x, c10); c11 = w1.fma(x, c11); c12 = w2.fma(x, c12); c13 = w3.fma(x, c13);
                    x = FloatVector.fromArray(S, a, a2 + xo);
                    c20 = w0.fma(x, c20); c21 = w1.fma(x, c21); c22 = w2.fma(x, c22); c23 = w3.fma(x, c23);
                    x = FloatVector.fromArray(S, a, a3 + xo);
                    c30 = w0.fma(x, c30); c31 = w1.fma(x, c31); c32 = w2.fma(x, c32); c33 = w3.fma(x, c33);
                    w0 = widen(h0, p).mul(e0); w1 = widen(h1, p).mul(e1); w2 = widen(h2, p).mul(e2); w3 = widen(h3, p).mul(e3);
                    xo += CH;
                    x = FloatVector.fromArray(S, a, ao + xo);
                    c00 = w0.fma(x, c00); c01 = w1.fma(x, c01); c02 = w2.fma(x, c02); c03 = w3.fma(x, c03);
                    x = FloatVector.fromArray(S, a, a1 + xo);
                    c10 = w0.fma(x, c10); c11 = w1.fma(x, c11); c12 = w2.fma(x, c12); c13 = w3.fma(x, c13);
                    x = FloatVector.fromArray(S, a, a2 + xo);
                    c20 = w0.fma(x, c20); c21 = w1.fma(x, c21); c22 = w2.fma(x, c22); c23 = w3.fma(x, c23);
                    x = FloatVector.fromArray(S, a, a3 + xo);
                    c30 = w0.fma(x, c30); c31 = w1.fma(x, c31); c32 = w2.fma(x, c32); c33 = w3.fma(x, c33);
                }
            }
        }
        storeTile(c, co, ldc, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }

    /** {@link #int8Tile} for bfloat16 rows (no scales); k a multiple of VL ({@link #tileable}). */
    static void bf16Tile(float[] a, int ao, int lda, int k, MemorySegment w, long o0, long rb, float[] c, int co, int ldc, float beta) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int a1 = ao + lda, a2 = a1 + lda, a3 = a2 + lda;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int j = 0; j < k; j += VL) {
            long at = 2L * j;
            FloatVector w0 = bf16(w, o0 + at), w1 = bf16(w, o1 + at), w2 = bf16(w, o2 + at), w3 = bf16(w, o3 + at);
            FloatVector x = FloatVector.fromArray(S, a, ao + j);
            c00 = w0.fma(x, c00); c01 = w1.fma(x, c01); c02 = w2.fma(x, c02); c03 = w3.fma(x, c03);
            x = FloatVector.fromArray(S, a, a1 + j);
            c10 = w0.fma(x, c10); c11 = w1.fma(x, c11); c12 = w2.fma(x, c12); c13 = w3.fma(x, c13);
            x = FloatVector.fromArray(S, a, a2 + j);
            c20 = w0.fma(x, c20); c21 = w1.fma(x, c21); c22 = w2.fma(x, c22); c23 = w3.fma(x, c23);
            x = FloatVector.fromArray(S, a, a3 + j);
            c30 = w0.fma(x, c30); c31 = w1.fma(x, c31); c32 = w2.fma(x, c32); c33 = w3.fma(x, c33);
        }
        storeTile(c, co, ldc, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }

    /**
     * Whether the tile kernels apply: every group (and k) a whole number of their chunks, so they need no scalar tail
     * (16 elements for int8, 32 for int4, VL for bfloat16). Otherwise the row kernels, which have tails, run.
     */
    static boolean tileable(int bits, int k, int gs) {
        int chunk = bits == 8 ? CH : bits == 4 ? 2 * CH : VL;
        return k % chunk == 0 && (bits == 16 || gs % chunk == 0);
    }

    private static void storeTile(float[] c, int co, int ldc, float beta, FloatVector c00, FloatVector c01, FloatVector c02,
                                  FloatVector c03, FloatVector c10, FloatVector c11, FloatVector c12, FloatVector c13,
                                  FloatVector c20, FloatVector c21, FloatVector c22, FloatVector c23, FloatVector c30,
                                  FloatVector c31, FloatVector c32, FloatVector c33) {
        store(c, co, beta, c00.reduceLanes(VectorOperators.ADD), c01.reduceLanes(VectorOperators.ADD),
                c02.reduceLanes(VectorOperators.ADD), c03.reduceLanes(VectorOperators.ADD));
        store(c, co + ldc, beta, c10.reduceLanes(VectorOperators.ADD), c11.reduceLanes(VectorOperators.ADD),
                c12.reduceLanes(VectorOperators.ADD), c13.reduceLanes(VectorOperators.ADD));
        store(c, co + 2 * ldc, beta, c20.reduceLanes(VectorOperators.ADD), c21.reduceLanes(VectorOperators.ADD),
                c22.reduceLanes(VectorOperators.ADD), c23.reduceLanes(VectorOperators.ADD));
        store(c, co + 3 * ldc, beta, c30.reduceLanes(VectorOperators.ADD), c31.reduceLanes(VectorOperators.ADD),
                c32.reduceLanes(VectorOperators.ADD), c33.reduceLanes(VectorOperators.ADD));
    }

    private static void store(float[] c, int co, float beta, float v0, float v1, float v2, float v3) {
        if (beta == 0f) {
            c[co] = v0; c[co + 1] = v1; c[co + 2] = v2; c[co + 3] = v3;
        } else {
            c[co] = v0 + beta * c[co]; c[co + 1] = v1 + beta * c[co + 1];
            c[co + 2] = v2 + beta * c[co + 2]; c[co + 3] = v3 + beta * c[co + 3];
        }
    }
}
