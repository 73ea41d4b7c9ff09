package dev.kindling.distributed;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;

/** Copies between tensors and flat float arrays (the layout collectives work on). */
final class Flat {
    private Flat() {
    }

    /** Whether {@code t}'s values are exactly its backing array (so they can be read and written in bulk). */
    static boolean ownsArray(Tensor t) {
        return t.dtype() == DType.FLOAT32 && t.isContiguous() && t.storageOffset() == 0
                && ((float[]) t.storageArray()).length == t.numel();
    }

    /** Copies {@code t}'s values to {@code dst[off, off + numel)}. */
    static void read(Tensor t, float[] dst, int off) {
        if (ownsArray(t)) System.arraycopy(t.floatData(), 0, dst, off, t.numel());
        else System.arraycopy(t.toFloatArray(), 0, dst, off, t.numel());
    }

    /** Copies {@code src[off, off + numel)} into {@code t}, bypassing autograd. */
    static void write(float[] src, int off, Tensor t) {
        if (ownsArray(t)) System.arraycopy(src, off, t.floatData(), 0, t.numel());
        else {
            float[] v = new float[t.numel()];
            System.arraycopy(src, off, v, 0, v.length);
            try (var noGrad = dev.kindling.autograd.Grad.disabled()) {
                t.copyFrom(Tensor.fromArray(v, t.shape()));
            }
        }
    }
}
