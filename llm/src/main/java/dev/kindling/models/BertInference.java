package dev.kindling.models;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.EncoderLayer;
import dev.kindling.tensor.Tensor;
import java.util.List;

/**
 * The encoder blocks of {@link BertModel} for inference, on float arrays instead of autograd tensors: each layer is
 * an {@link EncoderLayer} (one GEMM for query, key and value on pre-packed weights, fused masked attention, residual
 * + bias + layer norm in one pass) over activation buffers that every layer and every forward on the thread reuse.
 * Computes what {@code BertModel.Layer.forward} computes, without recording a graph. The ONNX runtime runs the
 * same {@link EncoderLayer} for the layers of a BERT export.
 */
final class BertInference {
    /** Added to the scores of padding keys: far below any score, yet finite so that softmax stays NaN-free. */
    private static final float MASKED = -1e30f;

    private final List<BertModel.Layer> layers;
    private final PackedLinear[] qkv, attnOut, intermediate, out;
    private final Elementwise.Unary act;
    private final float eps;
    private volatile EncoderLayer[] blocks; // built at the first forward from the current biases and norms

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

    /** Drops every packed weight and copied bias (the FLOAT32 parameters may change); the next forward builds them again. */
    void forget() {
        for (PackedLinear[] group : new PackedLinear[][] {qkv, attnOut, intermediate, out})
            for (PackedLinear p : group) p.forget();
        blocks = null;
    }

    private EncoderLayer[] blocks() {
        EncoderLayer[] b = blocks;
        if (b != null) return b;
        b = new EncoderLayer[layers.size()];
        for (int i = 0; i < b.length; i++) {
            BertModel.Layer l = layers.get(i);
            int h = l.heads * l.headSize;
            float[] qkvBias = new float[3 * h];
            System.arraycopy(l.query.bias.toFloatArray(), 0, qkvBias, 0, h);
            System.arraycopy(l.key.bias.toFloatArray(), 0, qkvBias, h, h);
            System.arraycopy(l.value.bias.toFloatArray(), 0, qkvBias, 2 * h, h);
            b[i] = new EncoderLayer(l.heads, l.headSize, qkv[i], qkvBias, attnOut[i], l.attnOut.bias.toFloatArray(),
                    l.attnNorm.weight.toFloatArray(), l.attnNorm.bias.toFloatArray(), eps, intermediate[i],
                    l.intermediate.bias.toFloatArray(), act, out[i], l.out.bias.toFloatArray(), l.outNorm.weight.toFloatArray(),
                    l.outNorm.bias.toFloatArray(), eps);
        }
        blocks = b;
        return b;
    }

    /**
     * The blocks over the embeddings x [b, t, hidden] (its array is overwritten and becomes the result's).
     *
     * @param keyMask [b * t], non-zero for tokens and 0 for padding, or null for no padding
     */
    Tensor forward(float[] x, int b, int t, long[] keyMask) {
        int rows = b * t, h = rows == 0 ? 0 : x.length / rows;
        if (layers.isEmpty()) return Tensor.wrap(x, b, t, h);
        float[] mask = null;
        if (keyMask != null) {
            mask = new float[rows];
            for (int i = 0; i < rows; i++) mask[i] = keyMask[i] != 0 ? 0f : MASKED;
        }
        EncoderLayer.Workspace ws = EncoderLayer.Workspace.ofCurrentThread();
        for (EncoderLayer block : blocks()) block.forward(x, b, t, mask, new int[] {t, 0, 0, 1}, ws);
        return Tensor.wrap(x, b, t, h);
    }
}
