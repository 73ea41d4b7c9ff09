package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Root-mean-square normalisation over the last dim: x / sqrt(mean(x^2) + eps) * weight (weight starts at ones). */
public class RMSNorm extends Module {
    private final double eps;
    public final Tensor weight;

    public RMSNorm(int size) {
        this(size, 1e-6);
    }

    public RMSNorm(int size, double eps) {
        this.eps = eps;
        this.weight = registerParameter("weight", Tensor.ones(size));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.rmsNorm(x, weight, eps);
    }

    @Override
    protected String extraRepr() {
        return weight.size(0) + ", eps=" + eps;
    }
}
