package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/** Zeroes elements with probability p while training and scales the rest by 1/(1-p); identity in eval mode. */
public class Dropout extends Module {
    private final double p;
    private final Generator generator;

    public Dropout(double p) {
        this(p, null);
    }

    /** With its own generator; null uses {@link Generator#global()} at each call. */
    public Dropout(double p, Generator g) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
        this.generator = g;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.dropout(p, isTraining(), generator == null ? Generator.global() : generator);
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
