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
 * row x against four weight rows at a time, each weight decoded in registers right before its multiply-add and
 * never stored. Used for y = x W^T when x has few rows (decoding), where the work is reading W once.
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
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private WeightDot() {}

    /** 16 consecutive 8-bit codes from byte {@code at}, part p (VL lanes) widened to floats. */
    private static FloatVector widen(ByteVector b, int p) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, S, p);
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
                ByteVector l0 = b0.and((byte) 15).sub((byte) 8), h0 = b0.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                ByteVector l1 = b1.and((byte) 15).sub((byte) 8), h1 = b1.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                ByteVector l2 = b2.and((byte) 15).sub((byte) 8), h2 = b2.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                ByteVector l3 = b3.and((byte) 15).sub((byte) 8), h3 = b3.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(S, x, xo + j + p * VL), xh = FloatVector.fromArray(S, x, xo + j + CH + p * VL);
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

    private static void store(float[] c, int co, float beta, float v0, float v1, float v2, float v3) {
        if (beta == 0f) {
            c[co] = v0; c[co + 1] = v1; c[co + 2] = v2; c[co + 3] = v3;
        } else {
            c[co] = v0 + beta * c[co]; c[co + 1] = v1 + beta * c[co + 1];
            c[co + 2] = v2 + beta * c[co + 2]; c[co + 3] = v3 + beta * c[co + 3];
        }
    }
}
