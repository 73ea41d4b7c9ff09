package dev.kindling.data;

import dev.kindling.tensor.Tensor;

/** A batch: inputs stacked along a new dim 0, targets likewise. */
public record Batch(Tensor input, Tensor target) {
    /** Number of samples in the batch. */
    public int size() {
        return input.size(0);
    }
}
