package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/**
 * Layer normalisation over the last dims: (x - mean) / sqrt(var + eps) * weight + bias.
 * <p>Shape: input [*, normalizedShape], same output. Weight ones, bias zeros (bias optional, as nanoGPT does).
 */
public class LayerNorm extends Module {
    private final int[] normalizedShape;
    private final double eps;
    public final Tensor weight, bias;

    public LayerNorm(int size) {
        this(new int[] {size}, 1e-5, true);
    }

    public LayerNorm(int[] normalizedShape, double eps, boolean bias) {
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = registerParameter("weight", Tensor.ones(normalizedShape));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(normalizedShape)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.layerNorm(x, normalizedShape, weight, bias, eps);
    }

    @Override
    protected String extraRepr() {
        return java.util.Arrays.toString(normalizedShape) + ", eps=" + eps + ", bias=" + (bias != null);
    }
}
