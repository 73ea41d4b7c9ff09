package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** x * sigmoid(x) elementwise (swish). */
public final class SiLU extends Module {
    @Override public Tensor forward(Tensor x) { return x.silu(); }
}
