package dev.kindling.models;

import dev.kindling.nn.Init;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * GPT-2's "Conv1D": a linear layer whose weight is stored [in, out] (the transpose of Linear's), so that
 * Hugging Face GPT-2 checkpoints load name for name and shape for shape. y = x W + b.
 * <p>Init as GPT-2: weight ~ N(0, std), bias zeros. A layer loaded for inference in half precision or quantized
 * holds its weight frozen, as [out, in], outside the parameters ({@link #weight} is null then).
 */
public class Conv1D extends Module {
    /** [in, out], or null when the weight is frozen. */
    public final Tensor weight;
    public final Tensor bias;
    private final WeightMatrix frozen;

    public Conv1D(int in, int out, boolean bias, double std, Generator g) {
        this.weight = registerParameter("weight", Tensor.zeros(in, out));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(out)) : null;
        this.frozen = null;
        Init.normal(weight, 0, std, g);
    }

    /** A frozen layer over w [out, in] (any dtype) and an optional FLOAT32 bias [out]. */
    Conv1D(WeightMatrix w, Tensor bias) {
        this.weight = null;
        this.frozen = w;
        this.bias = bias == null ? null : registerParameter("bias", bias);
    }

    @Override
    public Tensor forward(Tensor x) {
        if (frozen != null) return frozen.linear(x, bias);
        // one fused op: the bias is written before the GEMM accumulates onto it, and W.t() lets the GEMM read W
        // [in, out] as it is stored (no transposed packing); its gradient is computed in that layout too
        return x.linear(weight.t(), bias);
    }

    /** The frozen weight [out, in], or null when the layer is trainable. */
    WeightMatrix frozen() {
        return frozen;
    }

    /** Bytes of weights one forward pass over a single row reads. */
    long weightBytes() {
        return frozen != null ? frozen.byteSize() : 4L * weight.numel();
    }

    @Override
    protected String extraRepr() {
        int in = frozen != null ? frozen.cols : weight.size(0), out = frozen != null ? frozen.rows : weight.size(1);
        return "in=" + in + ", out=" + out + ", bias=" + (bias != null) + (frozen != null ? ", frozen " + frozen.dtype
                + (frozen.bits != 0 ? " " + frozen.bits + "-bit" : "") : "");
    }
}
