package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** 1 / (1 + exp(-x)) elementwise. */
public final class Sigmoid extends Module {
    @Override public Tensor forward(Tensor x) { return x.sigmoid(); }
}
