package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch dim). */
public final class Flatten extends Module {
    private final int start, end;
    public Flatten() { this(1, -1); }
    public Flatten(int startDim, int endDim) { start = startDim; end = endDim; }
    @Override public Tensor forward(Tensor x) { return x.flatten(start, end); }
    @Override protected String extraRepr() { return "start_dim=" + start + ", end_dim=" + end; }
}
