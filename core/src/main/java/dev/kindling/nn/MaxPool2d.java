package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** Max pooling (PyTorch's nn.MaxPool2d); see {@link Functional#maxPool2d(Tensor, int[], int[], int[], int[], boolean)}. Stride defaults to the kernel size. */
public final class MaxPool2d extends Module {
    private final int kernel, stride, padding;

    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public MaxPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.maxPool2d(x, kernel, stride, padding);
    }

    @Override
    protected String extraRepr() {
        return "kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding;
    }
}
