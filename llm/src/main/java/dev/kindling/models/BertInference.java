package dev.kindling.models;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.MaskedAttention;
import dev.kindling.kernels.Norms;
import dev.kindling.kernels.Parallel;
import dev.kindling.nn.LayerNorm;
import dev.kindling.tensor.Tensor;
import java.util.List;

/**
 * The encoder blocks of {@link BertModel} for inference, on float arrays instead of autograd tensors: per layer one
 * GEMM for query, key and value together on pre-packed weights, fused masked attention reading the heads in place,
 * the residual and bias written into the output before the GEMM accumulates onto them (so residual + bias + layer
 * norm is one extra pass), bias + activation in place, and five activation buffers allocated once per forward and
 * reused by every layer. Computes what {@code BertModel.Layer.forward} computes, without recording a graph.
 */
final class BertInference {
    /** Added to the scores of padding keys: far below any score, yet finite so that softmax stays NaN-free. */
    private static final float MASKED = -1e30f;

    private final List<BertModel.Layer> layers;
    private final PackedLinear[] qkv, attnOut, intermediate, out;
    private final Elementwise.Unary act;
    private final float eps;

    BertInference(BertConfig config, List<BertModel.Layer> layers) {
        this.layers = layers;
        int n = layers.size();
        qkv = new PackedLinear[n];
        attnOut = new PackedLinear[n];
        intermediate = new PackedLinear[n];
        out = new PackedLinear[n];
        for (int i = 0; i < n; i++) {
            BertModel.Layer l = layers.get(i);
            qkv[i] = new PackedLinear(List.of(l.query.w, l.key.w, l.value.w));
            attnOut[i] = new PackedLinear(List.of(l.attnOut.w));
            intermediate[i] = new PackedLinear(List.of(l.intermediate.w));
            out[i] = new PackedLinear(List.of(l.out.w));
        }
        act = switch (config.hiddenAct()) {
            case "gelu" -> Elementwise.Unary.GELU;
            case "relu" -> Elementwise.Unary.RELU;
            default -> Elementwise.Unary.GELU_TANH; // gelu_new, gelu_pytorch_tanh
        };
        eps = (float) config.layerNormEps();
    }

    /** Drops every packed weight (the FLOAT32 weights may change); the next forward packs them again. */
    void forget() {
        for (PackedLinear[] group : new PackedLinear[][] {qkv, attnOut, intermediate, out})
            for (PackedLinear p : group) p.forget();
    }

    /**
     * The blocks over the embeddings x [b, t, hidden] (its array is overwritten and becomes the result's).
     *
     * @param keyMask [b * t], non-zero for tokens and 0 for padding, or null for no padding
     */
    Tensor forward(float[] x, int b, int t, long[] keyMask) {
        if (layers.isEmpty()) return Tensor.wrap(x, b, t, x.length / Math.max(1, b * t));
        BertModel.Layer first = layers.get(0);
        int rows = b * t, h = first.heads * first.headSize, f = intermediate[0].out;
        float[] mask = null;
        if (keyMask != null) {
            mask = new float[rows];
            for (int i = 0; i < rows; i++) mask[i] = keyMask[i] != 0 ? 0f : MASKED;
        }
        float[] qkvBuf = new float[rows * 3 * h], ctx = new float[rows * h], a = new float[rows * h], ff = new float[rows * f];
        float[] mean = new float[rows], rstd = new float[rows];
        float scale = (float) (1 / Math.sqrt(first.headSize));
        int[] maskStrides = {t, 0, 0, 1};
        for (int i = 0; i < layers.size(); i++) {
            BertModel.Layer l = layers.get(i);
            float[] bq = l.query.bias.toFloatArray(), bk = l.key.bias.toFloatArray(), bv = l.value.bias.toFloatArray();
            float[] qkvBias = new float[3 * h];
            System.arraycopy(bq, 0, qkvBias, 0, h);
            System.arraycopy(bk, 0, qkvBias, h, h);
            System.arraycopy(bv, 0, qkvBias, 2 * h, h);
            fillRows(qkvBuf, rows, qkvBias, null);
            qkv[i].apply(x, rows, qkvBuf, 1f);                                          // (B*T, 3H)
            MaskedAttention.forward(b, l.heads, t, t, l.headSize, scale, qkvBuf, 0, 3 * h, qkvBuf, h, 3 * h,
                    qkvBuf, 2 * h, 3 * h, mask, 0, maskStrides, ctx, 0, h);             // (B*T, H)
            fillRows(a, rows, l.attnOut.bias.toFloatArray(), x);                        // x + bias, then + ctx Wo^T
            attnOut[i].apply(ctx, rows, a, 1f);
            norm(a, rows, h, l.attnNorm, mean, rstd);
            fillRows(ff, rows, l.intermediate.bias.toFloatArray(), null);
            intermediate[i].apply(a, rows, ff, 1f);                                     // (B*T, I)
            activate(ff);
            fillRows(x, rows, l.out.bias.toFloatArray(), a);                            // a + bias, then + ff Wout^T
            out[i].apply(ff, rows, x, 1f);
            norm(x, rows, h, l.outNorm, mean, rstd);
        }
        return Tensor.wrap(x, b, t, h);
    }

    /** dst row r = bias (+ residual row r when residual is not null), for the GEMM to accumulate onto. */
    private static void fillRows(float[] dst, int rows, float[] bias, float[] residual) {
        int n = bias.length;
        // a row is a vector copy or add (n / 8 in Parallel's scalar units): a 16-token batch stays on this thread
        Parallel.forRange(rows, Math.max(1, n / 8), (from, to) -> {
            for (int r = from; r < to; r++) {
                if (residual == null) System.arraycopy(bias, 0, dst, r * n, n);
                else Elementwise.binary(Elementwise.Binary.ADD, residual, r * n, 1, bias, 0, 1, dst, r * n, n);
            }
        });
    }

    private void norm(float[] x, int rows, int n, LayerNorm ln, float[] mean, float[] rstd) {
        Norms.layerNormForward(x, 0, x, 0, rows, n, ln.weight.toFloatArray(), ln.bias.toFloatArray(), eps, mean, rstd);
    }

    private void activate(float[] x) {
        int block = 4096, blocks = (x.length + block - 1) / block;
        Parallel.forRange(blocks, block, (from, to) -> { // SIMD GELU: about one scalar-op unit per element
            int s = from * block, e = Math.min(x.length, to * block);
            Elementwise.unary(act, x, s, 1, x, s, e - s);
        });
    }
}
