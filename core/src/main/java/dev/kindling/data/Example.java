package dev.kindling.data;

import dev.kindling.tensor.Tensor;

/** One sample: an input and its target. */
public record Example(Tensor input, Tensor target) {}
