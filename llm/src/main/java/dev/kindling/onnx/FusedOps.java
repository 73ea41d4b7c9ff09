package dev.kindling.onnx;

import dev.kindling.kernels.DynamicQuantization;
import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.EncoderLayer;
import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.MaskedAttention;
import dev.kindling.kernels.PackedMatrix;
import dev.kindling.kernels.Parallel;
import java.util.Arrays;

/** The ops that {@link Fusion} puts in place of subgraphs, on Kindling's GEMM, softmax and elementwise kernels. */
final class FusedOps {
    private FusedOps() {}

    static Op.Compiled compile(Node n) {
        return switch (n.op()) {
            case "Attention" -> attention(n);
            case "LayerNormalization" -> MathOps.compile(n);
            case "Gelu" -> gelu(n);
            case "Linear" -> linear(n);
            case "LinearGroup" -> linearGroup(n);
            case "MatMulIntegerToFloat" -> matmulIntegerToFloat(n);
            case "DynamicQuantizeShifted" -> dynamicQuantizeShifted(n);
            case "EncoderLayer" -> encoderLayer(n);
            case "QuantizedEncoderLayer" -> quantizedEncoderLayer(n);
            case "GatherDequantized" -> gatherDequantized(n);
            default -> null;
        };
    }

    /**
     * softmax(Q K^T * scale + mask) V per (batch, head) for Q [B, Tq, H, D], K and V [B, Tk, H, D] and an additive
     * mask broadcastable to [B, H, Tq, Tk]; the output is [B, Tq, H, D]. Heads are read in place through the GEMM's
     * leading dimension (H * D), so no transposed copy is made, and each score block stays in cache from the first
     * GEMM through the softmax to the second.
     */
    private static Op.Compiled attention(Node n) {
        n.requireInputs(3, 4);
        for (int i = 0; i < n.inputs(); i++) n.requireType(i, "input " + i, DataType.FLOAT);
        float scale = n.attrFloat("scale", 1f);
        String label = n.label();
        return new Op.Compiled(in -> new Value[] {attention(label, in[0], in[1], in[2], in.length > 3 ? in[3] : null, scale)},
                new Op.Type[] {n.types[0]});
    }

    static Value attention(String label, Value q, Value k, Value v, Value mask, float scale) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || !Arrays.equals(k.shape, v.shape) || q.shape[0] != k.shape[0]
                || q.shape[2] != k.shape[2] || q.shape[3] != k.shape[3])
            throw new IllegalArgumentException("onnx: " + label + ": Q " + q + ", K " + k + ", V " + v + " are not [B, T, H, D] with matching B, H, D");
        int b = q.shape[0], tq = q.shape[1], h = q.shape[2], d = q.shape[3], tk = k.shape[1], ld = h * d;
        int[] ms = maskStrides(label, mask, b, h, tq, tk);
        float[] out = new float[q.numel()];
        MaskedAttention.forward(b, h, tq, tk, d, scale, q.f, 0, ld, k.f, 0, ld, v.f, 0, ld, mask == null ? null : mask.f, 0, ms, out, 0, ld);
        return Value.floats(out, q.shape);
    }

    /** The strides over (batch, head, query, key) of an additive mask broadcast to [b, h, tq, tk]; zeros for none. */
    private static int[] maskStrides(String label, Value mask, int b, int h, int tq, int tk) {
        int[] ms = new int[4];
        if (mask == null) return ms;
        int[] full = {b, h, tq, tk};
        if (mask.rank() > 4 || !Arrays.equals(Broadcast.shape(label, mask.shape, full), full))
            throw new IllegalArgumentException("onnx: " + label + ": mask " + mask + " does not broadcast to " + Arrays.toString(full));
        int[] st = Value.strides(mask.shape);
        for (int i = 0; i < mask.rank(); i++) ms[4 - mask.rank() + i] = mask.shape[i] == 1 ? 0 : st[i];
        return ms;
    }

    /**
     * A BERT encoder layer ({@link Fusion}'s EncoderLayer pattern) on {@link EncoderLayer}: inputs X [B, T, H], the
     * additive attention mask (or empty), then query, key and value weight [H, H] and bias pairs, the attention
     * output's, norm 1's scale and bias, the up projection's [H, I] and bias, the down projection's [I, H] and bias,
     * norm 2's scale and bias; attributes heads, epsilon1, epsilon2. Weights are packed once, here.
     */
    private static Op.Compiled encoderLayer(Node n) {
        n.requireInputs(18, 18);
        n.requireType(0, "X", DataType.FLOAT);
        if (n.has(1)) n.requireType(1, "mask", DataType.FLOAT);
        int heads = (int) n.attrInt("heads", 0);
        Value[] qkv = {n.constant(2, "Wq"), n.constant(3, "bq"), n.constant(4, "Wk"), n.constant(5, "bk"), n.constant(6, "Wv"), n.constant(7, "bv")};
        Value wq = qkv[0];
        if (wq == null || wq.rank() != 2 || heads < 1 || wq.shape[1] % heads != 0)
            throw n.fail("Wq " + wq + " is not [H, H] with H a multiple of heads " + heads);
        int h = wq.shape[1];
        float[] qkvBias = new float[3 * h];
        float[] qkvWeights = sideBySide(n, new Value[] {qkv[0], qkv[2], qkv[4]}, new Value[] {qkv[1], qkv[3], qkv[5]}, qkvBias);
        EncoderLayer layer = new EncoderLayer(heads, h / heads, EncoderLayer.Projection.packed(false, h, 3 * h, qkvWeights, 0, 3 * h), qkvBias,
                projection(n, 8, "Wo"), floats(n, 9, "bo"), floats(n, 10, "norm 1 scale"), floats(n, 11, "norm 1 bias"),
                n.attrFloat("epsilon1", 1e-5f), projection(n, 12, "Wi"), floats(n, 13, "bi"), Elementwise.Unary.GELU,
                projection(n, 14, "Wd"), floats(n, 15, "bd"), floats(n, 16, "norm 2 scale"), floats(n, 17, "norm 2 bias"),
                n.attrFloat("epsilon2", 1e-5f));
        return layerOp(n, layer, heads, h);
    }

    /**
     * A dynamically quantized BERT encoder layer ({@link Fusion}'s QuantizedEncoderLayer pattern) on
     * {@link EncoderLayer} with {@link EncoderLayer.Projection#dynamicQuantized} projections: inputs X [B, T, H], the
     * additive attention mask (or empty), then (B, b zero point or empty, weight scale, bias) for the query, key,
     * value and attention output projections, norm 1's scale and bias, the same four for the up and the down
     * projection, norm 2's scale and bias; attributes heads, epsilon1, epsilon2. B minus its zero point is widened to
     * floats and packed once, here; query, key and value side by side, as one projection of one quantized input.
     */
    private static Op.Compiled quantizedEncoderLayer(Node n) {
        n.requireInputs(1, 30); // the weight zero points and the mask are optional
        if (n.inputs() != 30) throw n.fail("takes 30 inputs, got " + n.inputs());
        n.requireType(0, "X", DataType.FLOAT);
        if (n.has(1)) n.requireType(1, "mask", DataType.FLOAT);
        int heads = (int) n.attrInt("heads", 0);
        QuantizedWeight[] qkv = {quantizedWeight(n, 2, "query"), quantizedWeight(n, 6, "key"), quantizedWeight(n, 10, "value")};
        int h = qkv[0].rows;
        if (heads < 1 || h % heads != 0) throw n.fail("hidden size " + h + " is not a multiple of heads " + heads);
        for (QuantizedWeight w : qkv)
            if (w.rows != h || w.cols != h) throw n.fail(w.role + " weight [" + w.rows + ", " + w.cols + "] is not [" + h + ", " + h + "]");
        Value[] shiftedQkv = new Value[3], biasQkv = new Value[3];
        float[] scales = new float[3 * h];
        for (int j = 0; j < 3; j++) {
            shiftedQkv[j] = qkv[j].shifted;
            biasQkv[j] = qkv[j].bias;
            System.arraycopy(qkv[j].columnScales(), 0, scales, j * h, h);
        }
        float[] qkvBias = new float[3 * h];
        float[] qkvWeights = sideBySide(n, shiftedQkv, biasQkv, qkvBias);
        QuantizedWeight o = quantizedWeight(n, 14, "attention output"), up = quantizedWeight(n, 20, "up"), down = quantizedWeight(n, 24, "down");
        EncoderLayer layer = new EncoderLayer(heads, h / heads, EncoderLayer.Projection.dynamicQuantized(h, 3 * h, qkvWeights, scales), qkvBias,
                o.projection(), o.bias.f, floats(n, 18, "norm 1 scale"), floats(n, 19, "norm 1 bias"), n.attrFloat("epsilon1", 1e-5f),
                up.projection(), up.bias.f, Elementwise.Unary.GELU, down.projection(), down.bias.f, floats(n, 28, "norm 2 scale"),
                floats(n, 29, "norm 2 bias"), n.attrFloat("epsilon2", 1e-5f));
        return layerOp(n, layer, heads, h);
    }

    /** One quantized projection's inputs: B minus its zero point as floats [rows, cols], its scale (1 or cols), bias. */
    private record QuantizedWeight(String role, Value shifted, int rows, int cols, float[] scale, Value bias) {
        float[] columnScales() {
            if (scale.length == cols) return scale;
            float[] s = new float[cols];
            Arrays.fill(s, scale[0]);
            return s;
        }

        EncoderLayer.Projection projection() {
            return EncoderLayer.Projection.dynamicQuantized(rows, cols, shifted.f, scale);
        }
    }

    /** Inputs i (B), i + 1 (b zero point), i + 2 (weight scale), i + 3 (bias) of a QuantizedEncoderLayer. */
    private static QuantizedWeight quantizedWeight(Node n, int i, String role) {
        n.requireType(i, role + " B", DataType.UINT8, DataType.INT8);
        Value b = n.constant(i, role + " B"), zp = n.has(i + 1) ? n.constant(i + 1, role + " b_zero_point") : null;
        Value scale = n.constant(i + 2, role + " scale"), bias = n.constant(i + 3, role + " bias");
        if (b.rank() != 2) throw n.fail(role + " B " + b + " is not 2-D");
        int rows = b.shape[0], cols = b.shape[1];
        if (scale.type != DataType.FLOAT || (scale.numel() != 1 && scale.numel() != cols))
            throw n.fail(role + " scale " + scale + " is neither one FLOAT nor one per column of " + cols);
        if (bias.type != DataType.FLOAT || bias.numel() != cols) throw n.fail(role + " bias " + bias + " does not have " + cols + " FLOAT values");
        return new QuantizedWeight(role, QuantOps.shifted(n.label(), b, zp, 1, "b_zero_point"), rows, cols, scale.f, bias);
    }

    /** The op running an encoder layer on X [B, T, H] and an optional additive mask, in place when X dies here. */
    private static Op.Compiled layerOp(Node n, EncoderLayer layer, int heads, int h) {
        String label = n.label();
        return new Op.Compiled(new Op.Consuming() {
            @Override
            public Value[] run(Value[] in) {
                return forward(in, false);
            }

            @Override
            public Value[] runConsuming(Value[] in) {
                return forward(in, true);
            }

            private Value[] forward(Value[] in, boolean overwrite) {
                Value x = in[0], mask = in.length > 1 ? in[1] : null;
                if (x.rank() != 3 || x.shape[2] != h)
                    throw new IllegalArgumentException("onnx: " + label + ": X " + x + " is not [B, T, " + h + "]");
                int b = x.shape[0], t = x.shape[1];
                int[] ms = maskStrides(label, mask, b, heads, t, t);
                float[] y = overwrite ? x.f : x.f.clone(); // a value another step may still read is never written
                layer.forward(y, b, t, mask == null ? null : mask.f, ms, EncoderLayer.Workspace.ofCurrentThread());
                return new Value[] {Value.floats(y, x.shape)};
            }
        }, new Op.Type[] {n.types[0]}, after(1, n.inputs()));
    }

    private static EncoderLayer.Projection projection(Node n, int i, String role) {
        Value w = n.constant(i, role);
        if (w == null || w.rank() != 2 || w.type != DataType.FLOAT) throw n.fail(role + " " + w + " is not a 2-D FLOAT matrix");
        return EncoderLayer.Projection.packed(false, w.shape[0], w.shape[1], w.f, 0, w.shape[1]);
    }

    /** Inputs first + 1 .. count - 1: the constant weights of an op that packs them at load (Op.Compiled.loadOnly). */
    private static int[] after(int first, int count) {
        int[] a = new int[Math.max(0, count - first - 1)];
        for (int i = 0; i < a.length; i++) a[i] = first + 1 + i;
        return a;
    }

    private static float[] floats(Node n, int i, String role) {
        Value v = n.constant(i, role);
        if (v == null || v.type != DataType.FLOAT) throw n.fail(role + " " + v + " is not a FLOAT constant");
        return v.f;
    }

    /**
     * [W_1 W_2 ...] (each [K, N_i]) side by side as one row-major [K, sum N_i] matrix, with the biases (null entries:
     * zeros) written side by side into {@code bias}.
     */
    private static float[] sideBySide(Node n, Value[] w, Value[] b, float[] bias) {
        int[] cols = new int[w.length + 1];
        for (int i = 0; i < w.length; i++) {
            if (w[i] == null || w[i].rank() != 2 || w[i].type != DataType.FLOAT || w[i].shape[0] != w[0].shape[0])
                throw n.fail("W" + i + " " + w[i] + " is not a FLOAT [" + w[0].shape[0] + ", N]");
            cols[i + 1] = cols[i] + w[i].shape[1];
        }
        int kdim = w[0].shape[0], total = cols[w.length];
        float[] all = new float[kdim * total];
        for (int i = 0; i < w.length; i++) {
            int ni = w[i].shape[1];
            for (int p = 0; p < kdim; p++) System.arraycopy(w[i].f, p * ni, all, p * total + cols[i], ni);
            if (b[i] != null) {
                if (b[i].numel() != ni || b[i].type != DataType.FLOAT) throw n.fail("bias" + i + " " + b[i] + " does not have " + ni + " FLOAT values");
                System.arraycopy(b[i].f, 0, bias, cols[i], ni);
            }
        }
        return all;
    }

    /**
     * Rows of a constant int8 table [N, D] picked by indices [...] (negative ones count from the end, as Gather's),
     * dequantized with one scale and zero point: out [..., D] = (table[index] - zp) * scale, as DequantizeLinear of
     * Gather rounds it.
     */
    private static Op.Compiled gatherDequantized(Node n) {
        n.requireInputs(3, 4);
        n.requireType(1, "indices", DataType.INT32, DataType.INT64);
        Value table = n.constant(0, "table"), scale = n.constant(2, "scale"), zp = n.has(3) ? n.constant(3, "zero point") : null;
        if (table.rank() != 2 || table.l == null) throw n.fail("table " + table + " is not a 2-D integer tensor");
        if (scale.type != DataType.FLOAT || scale.numel() != 1 || (zp != null && (zp.numel() != 1 || zp.l == null)))
            throw n.fail("scale " + scale + " and zero point " + zp + " must be single values");
        int rows = table.shape[0], d = table.shape[1];
        float s = scale.f[0];
        long z = zp == null ? 0 : zp.l[0];
        // the codes as bytes (an eighth of the longs the table is read as); (u)int8 entries read back exactly below
        if (table.type != DataType.INT8 && table.type != DataType.UINT8) throw n.fail("table " + table + " is not INT8 or UINT8");
        boolean unsigned = table.type == DataType.UINT8;
        byte[] codes = new byte[table.numel()];
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) table.l[i];
        String label = n.label();
        int[] ix = n.dims(1), outDims = null;
        if (ix != null) {
            outDims = Arrays.copyOf(ix, ix.length + 1);
            outDims[ix.length] = d;
        }
        return new Op.Compiled(in -> {
            Value idx = in[1];
            int m = idx.numel();
            float[] o = new float[m * d];
            for (int j = 0; j < m; j++) {
                long k = idx.l[j];
                if (k < -rows || k >= rows)
                    throw new IllegalArgumentException("onnx: " + label + ": index " + k + " is out of range for a table of " + rows + " rows");
                int src = (int) (k < 0 ? k + rows : k) * d, dst = j * d;
                for (int c = 0; c < d; c++) o[dst + c] = ((unsigned ? codes[src + c] & 0xFF : codes[src + c]) - z) * s;
            }
            int[] shape = Arrays.copyOf(idx.shape, idx.rank() + 1);
            shape[idx.rank()] = d;
            return new Value[] {Value.floats(o, shape)};
        }, new Op.Type[] {new Op.Type(DataType.FLOAT, outDims)}, 0, 2, 3);
    }

    /** Exact (erf) GELU on the SIMD kernel, split over the threads. */
    private static Op.Compiled gelu(Node n) {
        n.requireInputs(1, 1);
        n.requireType(0, "x", DataType.FLOAT);
        return new Op.Compiled(in -> {
            Value x = in[0];
            float[] o = new float[x.numel()];
            unaryParallel(Elementwise.Unary.GELU, x.f, o);
            return new Value[] {Value.floats(o, x.shape)};
        }, new Op.Type[] {n.types[0]});
    }

    static void unaryParallel(Elementwise.Unary op, float[] x, float[] o) {
        int block = 4096, blocks = (x.length + block - 1) / block;
        Parallel.forRange(blocks, block, (from, to) -> { // SIMD: about one scalar-op unit per element
            int s = from * block, e = Math.min(x.length, to * block);
            Elementwise.unary(op, x, s, 1, o, s, e - s);
        });
    }

    /** X [..., K] times a constant W [K, N] plus an optional bias [N]: one GEMM into rows pre-filled with the bias. */
    private static Op.Compiled linear(Node n) {
        n.requireInputs(2, 3);
        n.requireType(0, "X", DataType.FLOAT);
        Value w = n.constant(1, "W"), bias = n.has(2) ? n.constant(2, "bias") : null;
        int kdim = w.shape[0], ndim = w.shape[1];
        PackedMatrix packed = PackedMatrix.of(false, kdim, ndim, w.f, 0, ndim); // once, at load, as ONNX Runtime does
        String label = n.label();
        int[] x = n.dims(0), outDims = null;
        if (x != null) {
            if (x.length == 0 || (x[x.length - 1] >= 0 && x[x.length - 1] != kdim))
                throw n.fail("shapes " + Arrays.toString(x) + " and [" + kdim + ", " + ndim + "] do not align (" + (x.length == 0 ? "scalar" : x[x.length - 1]) + " vs " + kdim + ")");
            outDims = x.clone();
            outDims[x.length - 1] = ndim;
        }
        return new Op.Compiled(in -> {
            Value a = in[0];
            if (a.rank() == 0 || a.shape[a.rank() - 1] != kdim)
                throw new IllegalArgumentException("onnx: " + label + ": shapes " + Arrays.toString(a.shape) + " and [" + kdim + ", " + ndim + "] do not align");
            int rows = a.numel() / Math.max(1, kdim);
            if (kdim == 0) rows = Value.numel(Arrays.copyOf(a.shape, a.rank() - 1));
            float[] o = new float[rows * ndim];
            if (bias != null) for (int r = 0; r < rows; r++) System.arraycopy(bias.f, 0, o, r * ndim, ndim);
            Gemm.sgemmPacked(rows, 1f, a.f, 0, kdim, packed, bias != null ? 1f : 0f, o, 0, ndim);
            int[] shape = a.shape.clone();
            shape[shape.length - 1] = ndim;
            return new Value[] {Value.floats(o, shape)};
        }, new Op.Type[] {new Op.Type(DataType.FLOAT, outDims)}, after(0, n.inputs()));
    }

    /**
     * DynamicQuantizeLinear whose codes are wanted minus their zero point, as floats: outputs (codes - zp) FLOAT,
     * scale and zero point (UINT8), on the SIMD kernel.
     */
    private static Op.Compiled dynamicQuantizeShifted(Node n) {
        n.requireInputs(1, 1);
        n.requireType(0, "x", DataType.FLOAT);
        return new Op.Compiled(in -> {
            Value x = in[0];
            float[] sz = DynamicQuantization.scaleAndZeroPoint(x.f, 0, x.numel());
            float[] o = new float[x.numel()];
            DynamicQuantization.quantizeShifted(x.f, 0, o.length, sz[0], sz[1], o, 0);
            return new Value[] {Value.floats(o, x.shape), Value.floats(new float[] {sz[0]}), Value.scalarLong(DataType.UINT8, (long) sz[1])};
        }, new Op.Type[] {new Op.Type(DataType.FLOAT, n.dims(0)), new Op.Type(DataType.FLOAT, new int[0]),
                new Op.Type(DataType.UINT8, new int[0])});
    }

    /**
     * X [..., K] times constant W_i [K, N_i] plus optional bias_i [N_i], for inputs X, W_1, b_1, W_2, b_2, ... (an
     * absent bias is the empty name): one GEMM on [W_1 W_2 ...] packed side by side, its rows then split per output.
     */
    private static Op.Compiled linearGroup(Node n) {
        n.requireType(0, "X", DataType.FLOAT);
        int parts = (n.inputs() - 1) / 2;
        if (parts < 1 || n.inputs() != 1 + 2 * parts || n.outputs() != parts)
            throw n.fail("expects X and (W, bias) pairs for " + n.outputs() + " outputs, got " + n.inputs() + " inputs");
        Value[] w = new Value[parts], b = new Value[parts];
        int[] cols = new int[parts + 1]; // running column offsets
        for (int i = 0; i < parts; i++) {
            w[i] = n.constant(1 + 2 * i, "W" + i);
            b[i] = n.has(2 + 2 * i) ? n.constant(2 + 2 * i, "bias" + i) : null;
            if (w[i] == null || w[i].rank() != 2) throw n.fail("W" + i + " " + w[i] + " is not 2-D");
            cols[i + 1] = cols[i] + w[i].shape[1];
        }
        int kdim = w[0].shape[0], total = cols[parts];
        float[] bias = new float[total];
        PackedMatrix packed = PackedMatrix.of(false, kdim, total, sideBySide(n, w, b, bias), 0, total);
        String label = n.label();
        int[] x = n.dims(0);
        Op.Type[] types = new Op.Type[parts];
        for (int i = 0; i < parts; i++) {
            int[] d = null;
            if (x != null && x.length > 0) {
                d = x.clone();
                d[d.length - 1] = w[i].shape[1];
            }
            types[i] = new Op.Type(DataType.FLOAT, d);
        }
        return new Op.Compiled(in -> {
            Value a = in[0];
            if (a.rank() == 0 || a.shape[a.rank() - 1] != kdim)
                throw new IllegalArgumentException("onnx: " + label + ": shapes " + Arrays.toString(a.shape) + " and [" + kdim + ", " + total + "] do not align");
            int rows = kdim == 0 ? Value.numel(Arrays.copyOf(a.shape, a.rank() - 1)) : a.numel() / kdim;
            float[] o = new float[rows * total];
            for (int r = 0; r < rows; r++) System.arraycopy(bias, 0, o, r * total, total);
            Gemm.sgemmPacked(rows, 1f, a.f, 0, kdim, packed, 1f, o, 0, total);
            Value[] outs = new Value[parts];
            for (int i = 0; i < parts; i++) {
                int ni = cols[i + 1] - cols[i];
                float[] oi = new float[rows * ni];
                for (int r = 0; r < rows; r++) System.arraycopy(o, r * total + cols[i], oi, r * ni, ni);
                int[] shape = a.shape.clone();
                shape[shape.length - 1] = ni;
                outs[i] = Value.floats(oi, shape);
            }
            return outs;
        }, types, after(0, n.inputs()));
    }

    /**
     * (A - a_zp)(B - b_zp) as FLOAT, times an optional scale (a scalar, or one per column) plus an optional bias [N]:
     * B - b_zp is widened to floats and packed into GEMM panels once, at load; a scalar scale is the GEMM's alpha.
     */
    private static Op.Compiled matmulIntegerToFloat(Node n) {
        n.requireInputs(2, 6);
        n.requireType(0, "A", DataType.UINT8, DataType.INT8, DataType.FLOAT); // FLOAT: codes already minus a_zp
        n.requireType(1, "B", DataType.UINT8, DataType.INT8);
        String label = n.label();
        Value b = n.constant(1, "B"), bzp = n.has(3) ? n.constant(3, "b_zero_point") : null;
        Value bias = n.has(5) ? n.constant(5, "bias") : null;
        if (b.rank() != 2) throw n.unsupported("B " + b + " must be 2-D");
        if (n.has(4)) n.requireType(4, "scale", DataType.FLOAT);
        Value bf = QuantOps.shifted(label, b, bzp, 1, "b_zero_point");
        int kdim = b.shape[0], ndim = b.shape[1];
        String bShape = Arrays.toString(b.shape); // not b itself: its codes are dropped after packing
        PackedMatrix packed = PackedMatrix.of(false, kdim, ndim, bf.f, 0, ndim);
        return new Op.Compiled(in -> {
            Value a = in[0], scale = in.length > 4 ? in[4] : null;
            if (a.rank() == 0 || a.shape[a.rank() - 1] != kdim)
                throw new IllegalArgumentException("onnx: " + label + ": shapes " + Arrays.toString(a.shape) + " and " + bShape + " do not align");
            boolean scalar = scale == null || scale.numel() == 1;
            if (!scalar && (scale.numel() != ndim || scale.shape[scale.rank() - 1] != ndim))
                throw new IllegalArgumentException("onnx: " + label + ": scale " + scale + " is neither a scalar nor one per column of " + ndim);
            Value af = a.type == DataType.FLOAT ? a : QuantOps.shifted(label, a, in.length > 2 ? in[2] : null, a.rank() - 2, "a_zero_point");
            int rows = a.numel() / Math.max(1, kdim);
            float[] o = new float[rows * ndim];
            float alpha = scale == null ? 1f : scalar ? scale.f[0] : 1f;
            if (bias != null && scalar) for (int r = 0; r < rows; r++) System.arraycopy(bias.f, 0, o, r * ndim, ndim);
            Gemm.sgemmPacked(rows, alpha, af.f, 0, kdim, packed, bias != null && scalar ? 1f : 0f, o, 0, ndim);
            if (!scalar)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < ndim; c++) o[r * ndim + c] = o[r * ndim + c] * scale.f[c] + (bias == null ? 0 : bias.f[c]);
            int[] shape = a.shape.clone();
            shape[shape.length - 1] = ndim;
            return new Value[] {Value.floats(o, shape)};
        }, new Op.Type[] {new Op.Type(DataType.FLOAT, null)}, 1, 3, 5);
    }
}
