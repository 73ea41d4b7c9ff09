package dev.kindling.optim;

/**
 * A learning-rate schedule as a pure function of the step (so resuming at step t gives the same lr).
 * {@link #apply} sets the optimizer's groups to {@code initialLr * factor(step)}.
 */
@FunctionalInterface
public interface LRSchedule {
    /** Multiplier of each group's initial lr at {@code step} (0-based). */
    double factor(long step);

    default void apply(Optimizer opt, long step) {
        double f = factor(step);
        for (ParamGroup g : opt.paramGroups()) g.lr = g.initialLr * f;
    }

    static LRSchedule constant() {
        return step -> 1;
    }

    /** Multiplies by gamma every stepSize steps (PyTorch's StepLR, stepped per epoch or per iteration). */
    static LRSchedule stepLR(int stepSize, double gamma) {
        if (stepSize <= 0) throw new IllegalArgumentException("stepLR: step size must be positive, got " + stepSize);
        return step -> Math.pow(gamma, step / stepSize);
    }

    /**
     * Linear warmup from 0 over {@code warmup} steps, then cosine decay to {@code minFactor} at {@code total}
     * steps, constant after (nanoGPT's get_lr with min_lr = minFactor * lr).
     */
    static LRSchedule warmupCosine(long warmup, long total, double minFactor) {
        if (warmup < 0 || total < warmup) throw new IllegalArgumentException("warmupCosine: need 0 <= warmup <= total, got " + warmup + ", " + total);
        return step -> {
            if (step < warmup) return (double) (step + 1) / (warmup + 1);
            if (step >= total) return minFactor;
            double ratio = (double) (step - warmup) / Math.max(1, total - warmup);
            return minFactor + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (1 - minFactor);
        };
    }
}
