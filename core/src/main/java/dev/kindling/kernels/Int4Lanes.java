package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The batch-1 int4 dot kernel for one scale per block of 32 ({@link Quantization}'s layout, unchanged), with fewer
 * vector operations per weight than {@link WeightDot#int4x4PerBlock}: the codes are read a whole int vector at a
 * time (a chunk of {@link #CHUNK} weights, 8 nibbles per int lane) and every nibble becomes a float straight from
 * its bits: one rotation, one AND-XOR (a single ternary-logic instruction on AVX-512) and one multiply-add per
 * {@code VL} weights, where the byte-widening kernel needs about four and a half (BENCHMARKS.md, int4x6: 1.1-1.2x).
 *
 * <p>A rotation brings nibble p of every lane to the top four mantissa bits (19..22); the AND-XOR clears the other
 * bits, sets the exponent of 1.0 and flips the nibble's top bit, so the float is {@code 1 + (q + 8) / 16 =
 * 1.5 + q / 16} for the two's-complement code q. Hence {@code sum q x = 16 (sum f x - 1.5 sum x)}: the accumulator of
 * a chunk starts at {@code -1.5 sum x} per lane, and one multiply-add by the per-lane scales adds the chunk to the
 * row's total. The subtraction costs a few bits: relative RMS error about 5e-7 instead of 1e-7 on GPT-2 shapes (far
 * below the codes' own rounding error).
 *
 * <p>Lane i, nibble p of a chunk holds a fixed weight of the block layout (byte b of a block holds weight b low and
 * b + 16 high), so the input is permuted once per call into the order the lanes need ({@link #prepare}), with the
 * per-lane sums of x; both are k floats and k / 8, tiny next to the matrix. Lanes 4g..4g+3 of a chunk belong to
 * block g, whose scale one load of VL scales and one permutation spread over them.
 *
 * <p>The nibble loop is not unrolled by hand: 32 inlined nibble decodes per chunk exceed C2's inlining node limit
 * (NodeCountInliningCutoff), and every call left out of line boxes its vectors.
 */
final class Int4Lanes {
    private static final VectorSpecies<Float> S = WeightDot.S;
    private static final int VL = WeightDot.VL;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    /** Weights per int vector of codes: 8 nibbles per lane. */
    static final int CHUNK = 8 * VL;
    private static final int CHUNK_BYTES = 4 * VL;
    /** Blocks (and scales) per chunk. */
    private static final int BLOCKS = VL / 4;
    /** Nibble bits at 19..22, the top of a float's mantissa; the XOR sets the exponent of 1.0 and adds 8 to q. */
    private static final int MANTISSA_NIBBLE = 0xF << 19, ONE_PLUS_8 = 0x3F800000 | 0x8 << 19;
    /** x[PERM[p * VL + i]] of a chunk meets nibble p of lane i. */
    private static final int[] PERM = new int[CHUNK];
    /** Lane i takes the scale of block i / 4. */
    private static final VectorShuffle<Float> SPREAD = VectorShuffle.fromOp(S, i -> i / 4);
    /** Per-thread input buffers of {@link #prepare}, grown to the longest row seen: decoding prepares one per matrix. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    static {
        for (int p = 0; p < 8; p++)
            for (int i = 0; i < VL; i++) PERM[p * VL + i] = 32 * (i / 4) + 4 * (i % 4) + p / 2 + 16 * (p % 2);
    }

    private Int4Lanes() {}

    /** Whether {@link #dot4} handles rows of k weights in groups of gs. */
    static boolean fits(int k, int gs) {
        return gs == Quantization.INT4_BLOCK && k > 0 && k % CHUNK == 0;
    }

    /**
     * Whether {@link #dot4} may read the scales of a row that start at {@code s}: it loads VL scales per chunk and
     * uses VL / 4, so the last chunk's load reaches 3 VL / 4 floats past the row.
     */
    static boolean scalesFit(int scalesLength, long s, int k) {
        return s + (long) (k / CHUNK - 1) * BLOCKS + VL <= scalesLength;
    }

    /**
     * {xs, sums}: xs[0..k) = x[xo..xo + k) in lane order, and sums[c * VL + i] = -1.5 * (sum of chunk c's x that
     * lane i meets): the input side of {@link #dot4}, computed once per call for all rows, in this thread's buffers
     * (valid until its next call). k is a multiple of {@link #CHUNK}.
     */
    static float[][] prepare(float[] x, int xo, int k) {
        float[][] buf = SCRATCH.get();
        if (buf[0].length < k) {
            buf[0] = new float[k];
            buf[1] = new float[k / 8];
        }
        float[] xs = buf[0], sums = buf[1];
        for (int c = 0; c < k / CHUNK; c++) {
            int base = c * CHUNK;
            for (int t = 0; t < CHUNK; t++) xs[base + t] = x[xo + base + PERM[t]];
            FloatVector s = FloatVector.zero(S);
            for (int p = 0; p < 8; p++) s = s.add(FloatVector.fromArray(S, xs, base + p * VL));
            s.mul(-1.5f).intoArray(sums, c * VL);
        }
        return buf;
    }

    /**
     * The nibble that a left rotation by {@code rotate} brings to bits 19..22 of every lane, as the float
     * 1.5 + q / 16 (nibble p: rotate by 19 - 4p mod 32).
     */
    private static FloatVector nibble(IntVector v, int rotate) {
        return v.lanewise(VectorOperators.ROL, rotate).lanewise(VectorOperators.AND, MANTISSA_NIBBLE)
                .lanewise(VectorOperators.XOR, ONE_PLUS_8).reinterpretAsFloats();
    }

    /** Chunk c's scales of the row whose scales start at s: lane i holds block i / 4's. */
    private static FloatVector scales(float[] sc, int s, int c) {
        return FloatVector.fromArray(S, sc, s + c * BLOCKS).rearrange(SPREAD);
    }

    /**
     * out[0..4) = dot(x, W row t) for the four rows t = 0..3 rb bytes apart from byte o0 (their scales from sc[s0],
     * {@code groups} apart), with xs and sums from {@link #prepare}; k a multiple of {@link #CHUNK}, and
     * {@link #scalesFit} for the last row's scales.
     */
    static void dot4(float[] xs, float[] sums, int k, MemorySegment w, long o0, long rb, float[] sc, int s0, int groups,
                     float[] out) {
        long o1 = o0 + rb, o2 = o1 + rb, o3 = o2 + rb;
        int s1 = s0 + groups, s2 = s1 + groups, s3 = s2 + groups;
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        for (int c = 0, chunks = k / CHUNK; c < chunks; c++) {
            long at = (long) c * CHUNK_BYTES;
            IntVector v0 = codes(w, o0 + at), v1 = codes(w, o1 + at), v2 = codes(w, o2 + at), v3 = codes(w, o3 + at);
            int xb = c * CHUNK;
            FloatVector a0 = FloatVector.fromArray(S, sums, c * VL), a1 = a0, a2 = a0, a3 = a0;
            for (int p = 0; p < 8; p++) {
                FloatVector x = FloatVector.fromArray(S, xs, xb + p * VL);
                int rotate = 19 - 4 * p & 31;
                a0 = nibble(v0, rotate).fma(x, a0);
                a1 = nibble(v1, rotate).fma(x, a1);
                a2 = nibble(v2, rotate).fma(x, a2);
                a3 = nibble(v3, rotate).fma(x, a3);
            }
            t0 = a0.fma(scales(sc, s0, c), t0);
            t1 = a1.fma(scales(sc, s1, c), t1);
            t2 = a2.fma(scales(sc, s2, c), t2);
            t3 = a3.fma(scales(sc, s3, c), t3);
        }
        out[0] = 16f * t0.reduceLanes(VectorOperators.ADD);
        out[1] = 16f * t1.reduceLanes(VectorOperators.ADD);
        out[2] = 16f * t2.reduceLanes(VectorOperators.ADD);
        out[3] = 16f * t3.reduceLanes(VectorOperators.ADD);
    }

    private static IntVector codes(MemorySegment w, long at) {
        return IntVector.fromMemorySegment(INTS, w, at, ByteOrder.LITTLE_ENDIAN);
    }
}
