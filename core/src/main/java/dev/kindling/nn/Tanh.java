package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** tanh elementwise. */
public final class Tanh extends Module {
    @Override public Tensor forward(Tensor x) { return x.tanh(); }
}
