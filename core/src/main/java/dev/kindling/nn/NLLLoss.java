package dev.kindling.nn;

import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.Tensor;

/** Negative log likelihood of log-probabilities [N, C] at class indices [N]. */
public final class NLLLoss implements Losses.Loss {
    private final int ignoreIndex;
    private final Reduction reduction;

    public NLLLoss() {
        this(-100, Reduction.MEAN);
    }

    public NLLLoss(int ignoreIndex, Reduction reduction) {
        this.ignoreIndex = ignoreIndex;
        this.reduction = reduction;
    }

    @Override
    public Tensor forward(Tensor logProbs, Tensor target) {
        return Functional.nllLoss(logProbs, target, ignoreIndex, reduction);
    }
}
