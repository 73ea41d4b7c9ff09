package dev.kindling.kernels;

/**
 * Inference attention out = softmax(Q K^T * scale + mask) V for every (batch, head), on heads laid out the way
 * a transformer layer's projections produce them: the row of token i of batch b holds all heads, head h at columns
 * [h * d, (h + 1) * d). Heads are read in place through the GEMM's leading dimension, so Q, K and V may be slices
 * of one fused QKV projection (leading dimension 3 * heads * d) and no transposed copy is made; each score block
 * stays in cache from the first GEMM through the softmax to the second. The mask is additive (0 keeps a key, a
 * large negative value drops it), broadcast by strides, so a key-padding mask [B, Tk] has strides {Tk, 0, 0, 1}.
 * Unlike {@link Attention} it keeps no log-sum-exp for a backward pass.
 */
public final class MaskedAttention {
    private MaskedAttention() {}

    private static final int VL = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();

    /** Per-thread score block, grown on demand: one forward call per layer would otherwise allocate it each time. */
    private static final ThreadLocal<float[][]> SCORES = ThreadLocal.withInitial(() -> new float[1][]);

    /**
     * Writes, for each b &lt; batch, h &lt; heads, i &lt; tq, the d values of head h of out row (b, i) at
     * {@code out[outOff + (b * tq + i) * ldo + h * d]}: the softmax over j &lt; tk of
     * {@code scale * dot(Q(b, i, h), K(b, j, h)) + mask[maskOff + b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]}
     * weighting V(b, j, h). Q(b, i, h) is {@code q[qOff + (b * tq + i) * ldq + h * d ..]}, likewise K and V with tk
     * rows per batch.
     *
     * @param mask additive mask, or null for none
     * @param maskStrides strides of the mask over (batch, head, query, key); 0 broadcasts
     * @throws IllegalArgumentException if a size is negative or not positive where needed, a leading dimension
     *     cannot hold all heads, or an operand reaches outside its array
     */
    public static void forward(int batch, int heads, int tq, int tk, int d, float scale,
                               float[] q, int qOff, int ldq, float[] k, int kOff, int ldk, float[] v, int vOff, int ldv,
                               float[] mask, int maskOff, int[] maskStrides, float[] out, int outOff, int ldo) {
        forward(batch, heads, tq, tk, d, scale, q, qOff, ldq, k, kOff, ldk, v, vOff, ldv, mask, maskOff, maskStrides, out, outOff, ldo, false);
    }

    /**
     * {@link #forward}, with {@code tiles}: heads of whole vectors run on {@link AttentionTiles} (the encoder layer's
     * path) instead of two GEMM calls. Both are accurate to float rounding, but their roundings differ, and a
     * dynamically quantized graph turns a 1e-6 difference into whole quantization steps (one padded sentence of
     * the int8 MiniLM moved from cosine 0.99 to 0.984 against ONNX Runtime): the ONNX Attention op keeps the GEMM path.
     */
    static void forward(int batch, int heads, int tq, int tk, int d, float scale,
                        float[] q, int qOff, int ldq, float[] k, int kOff, int ldk, float[] v, int vOff, int ldv,
                        float[] mask, int maskOff, int[] maskStrides, float[] out, int outOff, int ldo, boolean tiles) {
        if (batch < 0 || heads < 0 || tq < 0 || d < 0 || tk < 1)
            throw new IllegalArgumentException("MaskedAttention: sizes must be >= 0 and tk >= 1, got batch=" + batch + " heads="
                    + heads + " tq=" + tq + " tk=" + tk + " d=" + d);
        int width = heads * d;
        check("Q", q, qOff, ldq, batch * tq, width);
        check("K", k, kOff, ldk, batch * tk, width);
        check("V", v, vOff, ldv, batch * tk, width);
        check("out", out, outOff, ldo, batch * tq, width);
        int[] ms = maskStrides;
        if (mask != null) {
            if (ms == null || ms.length != 4)
                throw new IllegalArgumentException("MaskedAttention: mask strides must be 4 (batch, head, query, key), got "
                        + java.util.Arrays.toString(ms));
            long last = maskOff + (long) Math.max(0, batch - 1) * ms[0] + (long) Math.max(0, heads - 1) * ms[1]
                    + (long) Math.max(0, tq - 1) * ms[2] + (long) (tk - 1) * ms[3];
            if (maskOff < 0 || last >= mask.length || Math.min(Math.min(ms[0], ms[1]), Math.min(ms[2], ms[3])) < 0)
                throw new IllegalArgumentException("MaskedAttention: mask at offset " + maskOff + " with strides "
                        + java.util.Arrays.toString(ms) + " reaches element " + last + " but has " + mask.length);
        }
        if (batch == 0 || heads == 0 || tq == 0) return;
        // cost per head in Parallel's scalar-operation units: the GEMMs and softmax run on SIMD lanes, so a head of a
        // 16-token sentence (16 x 16 x 32) is about a microsecond, far below a fork/join round trip (10-30 us)
        Parallel.forRange(batch * heads, (long) tq * tk * Math.max(1, d) / 2, (from, to) -> {
            float[][] holder = SCORES.get();
            boolean tiled = tiles && d % VL == 0;
            int tkPad = (tk + VL - 1) / VL * VL;
            int need = tiled ? AttentionTiles.scratch(tq, tkPad, d) : tq * tk;
            if (holder[0] == null || holder[0].length < need) holder[0] = new float[need];
            float[] s = holder[0];
            for (int bh = from; bh < to; bh++) {
                int b = bh / heads, h = bh % heads;
                int qo = qOff + b * tq * ldq + h * d, ko = kOff + b * tk * ldk + h * d, vo = vOff + b * tk * ldv + h * d;
                if (tiled) {
                    AttentionTiles.head(tq, tk, tkPad, d, scale, q, qo, ldq, k, ko, ldk, v, vo, ldv,
                            mask, mask == null ? 0 : maskOff + b * ms[0] + h * ms[1], ms, s, out, outOff + b * tq * ldo + h * d, ldo);
                    continue;
                }
                Gemm.sgemm(false, true, tq, tk, d, scale, q, qo, ldq, k, ko, ldk, 0f, s, 0, tk);
                for (int i = 0; i < tq; i++) {
                    int r = i * tk;
                    if (mask != null) {
                        int mo = maskOff + b * ms[0] + h * ms[1] + i * ms[2];
                        if (ms[3] == 1) Elementwise.addInto(mask, mo, 1, s, r, tk);
                        else for (int j = 0; j < tk; j++) s[r + j] += mask[mo + j * ms[3]];
                    }
                    Softmax.softmax(s, r, s, r, tk);
                }
                Gemm.sgemm(false, false, tq, d, tk, 1f, s, 0, tk, v, vo, ldv, 0f, out, outOff + b * tq * ldo + h * d, ldo);
            }
        });
    }

    private static void check(String name, float[] x, int off, int ld, int rows, int width) {
        if (rows == 0 || width == 0) return;
        if (x == null) throw new IllegalArgumentException("MaskedAttention: " + name + " is null but holds " + rows + " rows of " + width);
        if (ld < width)
            throw new IllegalArgumentException("MaskedAttention: " + name + " leading dimension " + ld + " < heads * d = " + width);
        long end = off + (long) (rows - 1) * ld + width;
        if (off < 0 || end > x.length)
            throw new IllegalArgumentException("MaskedAttention: " + name + " (" + rows + " rows of " + width + ", ld " + ld
                    + ") at offset " + off + " spans [" + off + ", " + end + ") but the array has " + x.length);
    }
}
