package dev.kindling.kernels;

import java.lang.ref.SoftReference;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One post-LayerNorm transformer encoder layer (BERT's) for inference, on float arrays: for rows x [batch * tokens,
 * hidden],
 * <pre>
 *   q, k, v = x Wqkv^T + bqkv                       (one GEMM for the three projections)
 *   c       = softmax(q k^T * scale + mask) v       per (batch, head), {@link MaskedAttention}
 *   a       = LayerNorm1(x + c Wo^T + bo)           residual, bias and norm in one pass per row
 *   f       = act(a Wi^T + bi)                      bias and activation in one pass
 *   x       = LayerNorm2(a + f Wd^T + bd)
 * </pre>
 * Both BERT runtimes execute it: {@code BertModel}'s inference path and the ONNX runtime's fused encoder layer, so
 * the two run the same code on the same weights. Activations live in a {@link Workspace} that every layer of a
 * forward (and every forward on the thread) reuses, so a forward allocates nothing per layer.
 */
public final class EncoderLayer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** y = x W^T + beta * y for a linear layer's weight W [out, in], however it is stored. */
    public interface Projection {
        /** Input width (W's columns). */
        int in();

        /** Output width (W's rows). */
        int out();

        /**
         * y[r * out + j] = sum over p of x[r * in + p] * W[j][p] + beta * y[r * out + j] for r &lt; rows (beta is 0
         * or 1; 0 overwrites y without reading it).
         */
        void apply(float[] x, int rows, float[] y, float beta);

        /**
         * Whether this projection quantizes its input (rounds it to a grid set by the whole tensor's range): then a
         * float rounding difference upstream can move a value across a grid step, so a layer with such projections
         * computes attention with the ONNX Attention op's arithmetic (see {@link EncoderLayer#forward}).
         */
        default boolean quantizesInput() {
            return false;
        }

        /** Whether {@link #applyBlock} works: then a batch of a few tokens splits this projection over the threads. */
        default boolean splitsColumns() {
            return false;
        }

        /**
         * {@link #apply} for output columns [blockStart(out, part, parts), blockStart(out, part + 1, parts)) only (see
         * {@link EncoderLayer#blockStart}): threads that split the projection each compute one block.
         *
         * @throws UnsupportedOperationException unless {@link #splitsColumns}
         */
        default void applyBlock(float[] x, int rows, float[] y, float beta, int part, int parts) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " does not split by columns");
        }

        /**
         * y = x W^T + bias for each of the rows (bias has out() values), overwriting y. The default fills y's rows with
         * the bias and accumulates the product onto them; a projection whose product needs a pass of its own (a
         * quantized one's scales) adds the bias in that pass.
         */
        default void applyWithBias(float[] x, int rows, float[] y, float[] bias) {
            int n = out();
            for (int r = 0; r < rows; r++) System.arraycopy(bias, 0, y, r * n, n);
            apply(x, rows, y, 1f);
        }

        /**
         * {@link #applyWithBias} for one column block (see {@link #applyBlock}).
         *
         * @throws UnsupportedOperationException unless {@link #splitsColumns}
         */
        default void applyBlockWithBias(float[] x, int rows, float[] y, float[] bias, int part, int parts) {
            int n = out(), from = blockStart(n, part, parts), to = blockStart(n, part + 1, parts);
            if (from >= to) return;
            for (int r = 0; r < rows; r++) System.arraycopy(bias, from, y, r * n + from, to - from);
            applyBlock(x, rows, y, 1f, part, parts);
        }

        /**
         * {@link #apply} with beta 0 for a caller that finishes y in a pass of its own (bias, residual, norm): returns
         * factors that column j of y must still be multiplied by, before anything is added to it, or null when y is
         * final (the default). {@code range}, if not null, is {min(0, min x), max(0, max x)} over x's rows, taken by
         * the pass that wrote x, so that a projection that quantizes x skips its own sweep for the range.
         */
        default float[] applyUnscaled(float[] x, float[] range, int rows, float[] y) {
            apply(x, rows, y, 0f);
            return null;
        }

        /**
         * {@link #applyUnscaled} for one column block (see {@link #applyBlock}); the factors, if any, cover all
         * columns.
         *
         * @throws UnsupportedOperationException unless {@link #splitsColumns}
         */
        default float[] applyBlockUnscaled(float[] x, float[] range, int rows, float[] y, int part, int parts) {
            applyBlock(x, rows, y, 0f, part, parts);
            return null;
        }

        /**
         * A dynamically quantized projection, as ONNX's DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scales)
         * runs it: each call quantizes x per tensor to uint8 exactly as DynamicQuantizeLinear does (scale = (max(0,
         * max x) - min(0, min x)) / 255, zero point and codes rounded half to even and saturated), multiplies the codes
         * minus their zero point with {@code w} on the packed float GEMM, and scales column j of the exact integer
         * sums by scale_x * wScale[j], so the result has the bits the op-by-op graph computes.
         *
         * @param w the weight's codes minus their zero points as floats, [in, out] row-major as MatMulInteger's B (only read: packed here, not kept)
         * @param wScale the weight's scale: one value, or one per output column
         * @throws IllegalArgumentException if a size is negative or an array does not have the size the others imply
         */
        static Projection dynamicQuantized(int in, int out, float[] w, float[] wScale) {
            return new QuantizedProjection(in, out, w, wScale);
        }

        /**
         * A projection on a FLOAT32 weight packed once for the GEMM ({@link Gemm#sgemmPacked}): with
         * {@code transposed}, W [out, in] as a Linear stores it (element (j, p) at {@code w[off + j * ld + p]}),
         * otherwise W^T [in, out] as ONNX MatMul weights are stored. The array is kept (column blocks are packed from
         * it when a small batch first splits the projection), not copied.
         *
         * @throws IllegalArgumentException if a size is negative, ld is too small, or the matrix reaches outside w
         */
        static Projection packed(boolean transposed, int in, int out, float[] w, int off, int ld) {
            return new PackedProjection(transposed, in, out, w, off, ld);
        }
    }

    /** Column blocks of a split projection start at multiples of this (the GEMM's widest micro-panel). */
    static final int COLUMN_ALIGN = 64;

    /**
     * Where column block {@code part} of {@code parts} of an n-column output starts: n * part / parts rounded to a
     * multiple of 64, so that blocks are whole micro-panels; part == parts gives n.
     */
    public static int blockStart(int n, int part, int parts) {
        if (part >= parts) return n;
        long exact = (long) n * part / parts;
        return (int) Math.min(n, (exact + COLUMN_ALIGN / 2) / COLUMN_ALIGN * COLUMN_ALIGN);
    }

    /**
     * Up to this many rows (tokens of the whole batch) the layer runs as one task per thread that share its steps
     * (each projection split by columns, so that each thread streams only its share of the weights; attention by
     * heads; norms by rows) instead of a fork/join round trip per step: a 16-token sentence has seven steps per layer,
     * each a few tens of microseconds.
     */
    static final int SPLIT_MAX_ROWS = 64;

    /** Activation buffers, grown on demand and reused by every layer and forward that is given them. */
    public static final class Workspace {
        /** Per-thread buffers; soft, so that a thread that once ran a huge batch does not pin them for good. */
        private static final ThreadLocal<SoftReference<Workspace>> OF_THREAD = new ThreadLocal<>();

        float[] qkv = new float[0], ctx = new float[0], a = new float[0], ff = new float[0];

        /** An empty workspace (buffers are allocated by the first forward that needs them). */
        public Workspace() {}

        /** This thread's workspace, shared by every encoder run on the thread (one forward at a time per thread). */
        public static Workspace ofCurrentThread() {
            SoftReference<Workspace> ref = OF_THREAD.get();
            Workspace ws = ref == null ? null : ref.get();
            if (ws == null) OF_THREAD.set(new SoftReference<>(ws = new Workspace()));
            return ws;
        }

        float[] grow(float[] buf, long size) {
            if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("EncoderLayer: an activation of " + size + " floats is too large");
            return buf.length >= size ? buf : new float[(int) size];
        }
    }

    final int heads, headSize, hidden, inner;
    final Projection qkv, attnOut, up, down;
    final float[] qkvBias, attnOutBias, norm1Weight, norm1Bias, upBias, downBias, norm2Weight, norm2Bias;
    final Elementwise.Unary act;
    final float eps1, eps2;
    /**
     * Attention on register tiles ({@link AttentionTiles}), or as two GEMMs per head, the ONNX Attention op's
     * arithmetic: the two round differently (1e-6), and a quantized layer turns a rounding difference into whole
     * quantization steps. The GEMMs sum in the order ONNX Runtime's MatMul does, so they flip fewer steps: on tiles
     * every sentence of the int8 all-MiniLM-L6-v2 test set moved further from ONNX Runtime (the worst from cosine
     * 0.994 to 0.984). A layer whose projections quantize their inputs therefore computes attention as the op-by-op
     * graph does.
     */
    final boolean tiles;

    /**
     * The layer's weights. Projections: qkv [3 * hidden, hidden] (query, key and value rows stacked), attnOut
     * [hidden, hidden], up [inner, hidden], down [hidden, inner]; each bias has its projection's out() values, each
     * norm weight and bias hidden values. The arrays are kept, not copied.
     *
     * @param act the feed-forward activation: GELU, GELU_TANH or RELU
     * @throws IllegalArgumentException naming the first size that does not fit the others
     */
    public EncoderLayer(int heads, int headSize, Projection qkv, float[] qkvBias, Projection attnOut, float[] attnOutBias,
                        float[] norm1Weight, float[] norm1Bias, float eps1, Projection up, float[] upBias, Elementwise.Unary act,
                        Projection down, float[] downBias, float[] norm2Weight, float[] norm2Bias, float eps2) {
        if (heads < 1 || headSize < 1)
            throw new IllegalArgumentException("EncoderLayer: heads " + heads + " and head size " + headSize + " must be >= 1");
        hidden = Math.multiplyExact(heads, headSize);
        inner = up.out();
        check("qkv", qkv, 3 * hidden, hidden);
        check("attention output", attnOut, hidden, hidden);
        check("up", up, inner, hidden);
        check("down", down, hidden, inner);
        length("qkv bias", qkvBias, 3 * hidden);
        length("attention output bias", attnOutBias, hidden);
        length("norm 1 weight", norm1Weight, hidden);
        length("norm 1 bias", norm1Bias, hidden);
        length("up bias", upBias, inner);
        length("down bias", downBias, hidden);
        length("norm 2 weight", norm2Weight, hidden);
        length("norm 2 bias", norm2Bias, hidden);
        if (act != Elementwise.Unary.GELU && act != Elementwise.Unary.GELU_TANH && act != Elementwise.Unary.RELU)
            throw new IllegalArgumentException("EncoderLayer: activation " + act + " is not one of GELU, GELU_TANH, RELU");
        this.heads = heads;
        this.headSize = headSize;
        this.qkv = qkv;
        this.qkvBias = qkvBias;
        this.attnOut = attnOut;
        this.attnOutBias = attnOutBias;
        this.norm1Weight = norm1Weight;
        this.norm1Bias = norm1Bias;
        this.eps1 = eps1;
        this.up = up;
        this.upBias = upBias;
        this.act = act;
        this.down = down;
        this.downBias = downBias;
        this.norm2Weight = norm2Weight;
        this.norm2Bias = norm2Bias;
        this.eps2 = eps2;
        tiles = !(qkv.quantizesInput() || attnOut.quantizesInput() || up.quantizesInput() || down.quantizesInput());
    }

    private static void check(String name, Projection p, int out, int in) {
        if (p == null) throw new IllegalArgumentException("EncoderLayer: the " + name + " projection is null");
        if (p.out() != out || p.in() != in)
            throw new IllegalArgumentException("EncoderLayer: " + name + " projection is [" + p.out() + ", " + p.in() + "], expected ["
                    + out + ", " + in + "]");
    }

    private static void length(String name, float[] v, int n) {
        if (v == null || v.length != n)
            throw new IllegalArgumentException("EncoderLayer: " + name + " has " + (v == null ? "no" : String.valueOf(v.length))
                    + " values, expected " + n);
    }

    /** hidden = heads * head size. */
    public int hidden() {
        return hidden;
    }

    /**
     * Runs the layer on x [batch * tokens, hidden] (row-major), in place: x holds the layer's output afterwards.
     *
     * @param mask additive attention mask (0 keeps a key, a large negative value drops it) read at
     *     {@code mask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]} for batch b, head h, query i, key j; null for none
     * @param maskStrides the four strides ms (0 broadcasts), e.g. {tokens, 0, 0, 1} for a key-padding mask [batch, tokens]
     * @throws IllegalArgumentException if x does not hold batch * tokens rows of hidden, or the mask does not reach
     */
    public void forward(float[] x, int batch, int tokens, float[] mask, int[] maskStrides, Workspace ws) {
        if (batch < 0 || tokens < 0 || x == null || (long) batch * tokens * hidden != x.length)
            throw new IllegalArgumentException("EncoderLayer: x has " + (x == null ? "no" : String.valueOf(x.length)) + " values, expected batch "
                    + batch + " x tokens " + tokens + " x hidden " + hidden);
        int rows = batch * tokens, h = hidden;
        if (rows == 0) return;
        ws.qkv = ws.grow(ws.qkv, 3L * rows * h);
        ws.ctx = ws.grow(ws.ctx, (long) rows * h);
        ws.a = ws.grow(ws.a, (long) rows * h);
        ws.ff = ws.grow(ws.ff, (long) rows * inner);
        float[] qkvBuf = ws.qkv, ctx = ws.ctx, a = ws.a, ff = ws.ff;
        if (rows <= SPLIT_MAX_ROWS && Parallel.threads() > 1 && qkv.splitsColumns() && attnOut.splitsColumns() && up.splitsColumns()
                && down.splitsColumns()) {
            new SplitForward(this, x, batch, tokens, mask, maskStrides, ws, Parallel.threads()).run();
            return;
        }
        qkv.applyWithBias(x, rows, qkvBuf, qkvBias);                                     // (B*T, 3H)
        MaskedAttention.forward(batch, heads, tokens, tokens, headSize, (float) (1 / Math.sqrt(headSize)),
                qkvBuf, 0, 3 * h, qkvBuf, h, 3 * h, qkvBuf, 2 * h, 3 * h, mask, 0, maskStrides, ctx, 0, h, tiles); // (B*T, H)
        // a quantized projection leaves its column scales to the next pass, and takes its input's range from the
        // pass that wrote it
        float[] rangeA = up.quantizesInput() ? new float[2] : null, rangeF = down.quantizesInput() ? new float[2] : null;
        float[] scale = attnOut.applyUnscaled(ctx, null, rows, a);
        addNorm(a, scale, attnOutBias, x, norm1Weight, norm1Bias, eps1, rows, h, rangeA); // a = LN(x + a + bo)
        scale = up.applyUnscaled(a, rangeA, rows, ff);                                   // (B*T, I)
        biasActivate(ff, scale, upBias, act, rows, inner, rangeF);
        scale = down.applyUnscaled(ff, rangeF, rows, x);
        addNorm(x, scale, downBias, a, norm2Weight, norm2Bias, eps2, rows, h, null);     // x = LN(a + x + bd)
    }

    /**
     * y row = LayerNorm(y * scale + bias + residual) * w + b per row of n (scale: per-column factors a quantized
     * projection left, or null for none): the residual add, the bias and the norm in one pass (the row stays in L1
     * between its three sweeps). Statistics in float vector lanes: for BERT's widths the rounding is far below the
     * 1e-5 relative error a float norm has anyway. With {@code range}, its {min, max} widen to the output's (see
     * {@link #widen}).
     */
    static void addNorm(float[] y, float[] scale, float[] bias, float[] residual, float[] w, float[] b, float eps, int rows, int n, float[] range) {
        Parallel.forRange(rows, 3L * n / S.length() + 1, (from, to) -> {
            float[] lanes = new float[S.length()], part = range == null ? null : new float[2];
            for (int r = from; r < to; r++) addNormRow(y, r * n, scale, bias, residual, w, b, eps, n, lanes, part);
            if (range != null) widen(range, part);
        });
    }

    /** range = {min(range[0], part[0]), max(range[1], part[1])}, for parts of one output taken on several threads. */
    static void widen(float[] range, float[] part) {
        synchronized (range) {
            range[0] = Math.min(range[0], part[0]);
            range[1] = Math.max(range[1], part[1]);
        }
    }

    static void addNormRow(float[] y, int o, float[] scale, float[] bias, float[] residual, float[] w, float[] b, float eps, int n, float[] lanes,
                           float[] range) {
        int bound = S.loopBound(n), j = 0;
        var acc = FloatVector.zero(S);
        for (; j < bound; j += S.length()) {
            var v = FloatVector.fromArray(S, y, o + j);
            if (scale != null) v = v.mul(FloatVector.fromArray(S, scale, j)); // rounded before the adds, as the graph's Mul
            v = v.add(FloatVector.fromArray(S, bias, j)).add(FloatVector.fromArray(S, residual, o + j));
            v.intoArray(y, o + j);
            acc = acc.add(v);
        }
        float sum = AttentionTiles.laneSum(acc, lanes);
        for (; j < n; j++) {
            float v = (scale != null ? y[o + j] * scale[j] : y[o + j]) + bias[j] + residual[o + j];
            y[o + j] = v;
            sum += v;
        }
        float mean = sum / n;
        var m = FloatVector.broadcast(S, mean);
        var sq = FloatVector.zero(S);
        for (j = 0; j < bound; j += S.length()) {
            var d = FloatVector.fromArray(S, y, o + j).sub(m);
            sq = d.fma(d, sq);
        }
        float ss = AttentionTiles.laneSum(sq, lanes);
        for (; j < n; j++) {
            float d = y[o + j] - mean;
            ss += d * d;
        }
        float rstd = (float) (1 / Math.sqrt(ss / n + eps));
        var rs = FloatVector.broadcast(S, rstd);
        var lo = FloatVector.zero(S);
        var hi = FloatVector.zero(S);
        for (j = 0; j < bound; j += S.length()) {
            var v = FloatVector.fromArray(S, y, o + j).sub(m).mul(rs).fma(FloatVector.fromArray(S, w, j), FloatVector.fromArray(S, b, j));
            v.intoArray(y, o + j);
            if (range != null) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        for (; j < n; j++) y[o + j] = Math.fma((y[o + j] - mean) * rstd, w[j], b[j]);
        if (range != null) rangeOf(y, o + bound, n - bound, lo.reduceLanes(VectorOperators.MIN), hi.reduceLanes(VectorOperators.MAX), range);
    }

    /**
     * Widens range to {min(range[0], lo, y[off, off + n)), max(range[1], hi, y[off, off + n))}: the min and max of a
     * pass's output gathered as it was written ({@link DynamicQuantization#range}'s result, without a sweep of its
     * own). Takes the vector accumulators already reduced: a vector passed to a method the JIT does not inline is
     * boxed.
     */
    static void rangeOf(float[] y, int off, int n, float lo, float hi, float[] range) {
        float l = Math.min(range[0], lo), h = Math.max(range[1], hi);
        for (int j = 0; j < n; j++) {
            l = Math.min(l, y[off + j]);
            h = Math.max(h, y[off + j]);
        }
        range[0] = l;
        range[1] = h;
    }

    /** y row = act(y * scale + bias) per row of n, in place (scale as in {@link #addNorm}); range as there. */
    static void biasActivate(float[] y, float[] scale, float[] bias, Elementwise.Unary act, int rows, int n, float[] range) {
        // GELU costs some 30 vector operations per lane group: a row is about n / 16 * 30 scalar-op units
        Parallel.forRange(rows, 2L * n + 1, (from, to) -> {
            float[] part = range == null ? null : new float[2];
            for (int r = from; r < to; r++) biasActivateColumns(y, r * n, scale, bias, 0, n, act, part);
            if (range != null) widen(range, part);
        });
    }

    /** Columns [from, to) of the row at o: y = act(y * scale + bias); range (if not null) widened to the results. */
    static void biasActivateColumns(float[] y, int o, float[] scale, float[] bias, int from, int to, Elementwise.Unary act, float[] range) {
        int width = to - from;
        if (scale == null) {
            Elementwise.addInto(bias, from, 1, y, o + from, width);
        } else {
            int bound = from + S.loopBound(width), j = from;
            for (; j < bound; j += S.length())
                FloatVector.fromArray(S, y, o + j).mul(FloatVector.fromArray(S, scale, j)).add(FloatVector.fromArray(S, bias, j)).intoArray(y, o + j);
            for (; j < to; j++) y[o + j] = y[o + j] * scale[j] + bias[j];
        }
        Elementwise.unary(act, y, o + from, 1, y, o + from, width);
        if (range == null) return;
        var lo = FloatVector.zero(S);
        var hi = FloatVector.zero(S);
        int bound = from + S.loopBound(width), j = from;
        for (; j < bound; j += S.length()) {
            var v = FloatVector.fromArray(S, y, o + j);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        rangeOf(y, o + j, to - j, lo.reduceLanes(VectorOperators.MIN), hi.reduceLanes(VectorOperators.MAX), range);
    }

    @Override
    public String toString() {
        return "EncoderLayer(heads=" + heads + ", headSize=" + headSize + ", inner=" + inner + ", act=" + act + ")";
    }
}
