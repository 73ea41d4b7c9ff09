package dev.kindling.nn;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.Tensor;

/** Mean absolute error. */
public final class L1Loss implements Losses.Loss {
    private final Reduction reduction;

    public L1Loss() {
        this(Reduction.MEAN);
    }

    public L1Loss(Reduction reduction) {
        this.reduction = reduction;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return Functional.l1Loss(input, target, reduction);
    }
}
