package dev.kindling.nn;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.Tensor;

/** Cross-entropy on logits [N, C] and class indices [N] (ignoreIndex, labelSmoothing, reduction as in PyTorch). */
public final class CrossEntropyLoss implements Losses.Loss {
    private final int ignoreIndex;
    private final double labelSmoothing;
    private final Reduction reduction;

    public CrossEntropyLoss() {
        this(-100, 0, Reduction.MEAN);
    }

    public CrossEntropyLoss(int ignoreIndex, double labelSmoothing, Reduction reduction) {
        this.ignoreIndex = ignoreIndex;
        this.labelSmoothing = labelSmoothing;
        this.reduction = reduction;
    }

    @Override
    public Tensor forward(Tensor logits, Tensor target) {
        return Functional.crossEntropy(logits, target, ignoreIndex, labelSmoothing, reduction);
    }
}
