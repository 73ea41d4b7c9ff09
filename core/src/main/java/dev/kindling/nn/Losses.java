package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Loss modules with PyTorch's names and defaults; {@code forward(input, target)}. */
public final class Losses {
    private Losses() {}

    /** A loss: input and target to a (reduced) loss tensor. */
    public interface Loss {
        Tensor forward(Tensor input, Tensor target);
    }
}
