package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * y = x W^T + b.
 * <p>Shape: input [*, in], output [*, out]. Weight [out, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's
 * kaiming_uniform with a = sqrt(5)); bias [out] ~ the same bound.
 * <pre>{@code var m = new Linear(20, 30); m.forward(Tensor.zeros(128, 20)).shape(); // [128, 30]}</pre>
 */
public class Linear extends Module {
    public final int inFeatures, outFeatures;
    public final Tensor weight, bias;

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true, Generator.global());
    }

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        this(inFeatures, outFeatures, bias, Generator.global());
    }

    public Linear(int inFeatures, int outFeatures, boolean bias, Generator g) {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new IllegalArgumentException("Linear: features must be positive, got in=" + inFeatures + " out=" + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Tensor.zeros(outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outFeatures)) : null;
        resetParameters(g);
    }

    /** PyTorch's default init. */
    public void resetParameters(Generator g) {
        Init.kaimingUniform(weight, Math.sqrt(5), "leaky_relu", true, g);
        if (bias != null) {
            double bound = 1 / Math.sqrt(inFeatures);
            Init.uniform(bias, -bound, bound, g);
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.linear(weight, bias);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null);
    }
}
