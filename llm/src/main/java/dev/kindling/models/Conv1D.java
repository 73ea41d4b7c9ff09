package dev.kindling.models;

import dev.kindling.nn.Init;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * GPT-2's "Conv1D": a linear layer whose weight is stored [in, out] (the transpose of Linear's), so that
 * Hugging Face GPT-2 checkpoints load name for name and shape for shape. y = x W + b.
 * <p>Init as GPT-2: weight ~ N(0, std), bias zeros.
 */
public class Conv1D extends Module {
    public final Tensor weight, bias;

    public Conv1D(int in, int out, boolean bias, double std, Generator g) {
        this.weight = registerParameter("weight", Tensor.zeros(in, out));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(out)) : null;
        Init.normal(weight, 0, std, g);
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = x.matmul(weight);
        return bias == null ? y : y.add(bias);
    }

    @Override
    protected String extraRepr() {
        return "in=" + weight.size(0) + ", out=" + weight.size(1) + ", bias=" + (bias != null);
    }
}
