package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Average pooling (PyTorch's nn.AvgPool2d, padding counted in the divisor); stride defaults to the kernel size. */
public final class AvgPool2d extends Module {
    private final int kernel, stride, padding;

    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public AvgPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.avgPool2d(x, kernel, stride, padding);
    }

    @Override
    protected String extraRepr() {
        return "kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding;
    }
}
