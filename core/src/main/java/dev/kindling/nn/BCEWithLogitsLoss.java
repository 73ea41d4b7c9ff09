package dev.kindling.nn;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.Tensor;

/** Binary cross-entropy on logits (numerically stable), with an optional positive-class weight. */
public final class BCEWithLogitsLoss implements Losses.Loss {
    private final Tensor posWeight;
    private final Reduction reduction;

    public BCEWithLogitsLoss() {
        this(null, Reduction.MEAN);
    }

    public BCEWithLogitsLoss(Tensor posWeight, Reduction reduction) {
        this.posWeight = posWeight;
        this.reduction = reduction;
    }

    @Override
    public Tensor forward(Tensor logits, Tensor target) {
        return Functional.binaryCrossEntropyWithLogits(logits, target, posWeight, reduction);
    }
}
