package dev.kindling.nn;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.Tensor;

/** Mean squared error. */
public final class MSELoss implements Losses.Loss {
    private final Reduction reduction;

    public MSELoss() {
        this(Reduction.MEAN);
    }

    public MSELoss(Reduction reduction) {
        this.reduction = reduction;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return Functional.mseLoss(input, target, reduction);
    }
}
