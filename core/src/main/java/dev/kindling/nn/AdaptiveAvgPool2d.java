package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Adaptive average pooling to a fixed [outH, outW] (PyTorch's nn.AdaptiveAvgPool2d); (1, 1) is global average pooling. */
public final class AdaptiveAvgPool2d extends Module {
    private final int outH, outW;

    public AdaptiveAvgPool2d(int outH, int outW) {
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("AdaptiveAvgPool2d: output size must be >= 1, got [" + outH + ", " + outW + "]");
        this.outH = outH;
        this.outW = outW;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    protected String extraRepr() {
        return "output_size=(" + outH + ", " + outW + ")";
    }
}
