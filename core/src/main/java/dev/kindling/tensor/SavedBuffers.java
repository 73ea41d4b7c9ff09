package dev.kindling.tensor;

/**
 * Arrays that an op keeps for its backward besides its inputs and output (PyTorch's {@code ctx.save_for_backward}
 * for private buffers): a convolution's pre-pooling output, a max-pool's argmax positions. Drawn from the pool
 * that op outputs and gradients come from, and given back to it once the op's backward has run without retaining
 * the graph, so a training step reuses the previous step's buffers instead of allocating them (they were most of
 * a small CNN's 63 MB per step).
 *
 * <pre>{@code
 * float[] pre = SavedBuffers.floats(n);            // written by the forward, read by the backward only
 * Tensor out = Tensor.customOp("myOp", y, g -> ... pre ..., x);
 * return SavedBuffers.attach(out, pre);            // pooled after backward; at once when no graph was recorded
 * }</pre>
 *
 * <p>An attached array must be the op's alone: no tensor's storage, no array the caller keeps. Once it is back
 * in the pool another op may overwrite it, which is safe because the op's backward cannot run again: a second
 * backward through it fails ({@code backward(grad, true)} retains the graph and keeps the buffers).
 */
public final class SavedBuffers {
    private SavedBuffers() {}

    /** A float array of {@code n} elements with unspecified contents (a recycled one keeps its old values). */
    public static float[] floats(int n) {
        if (n < 0) throw new IllegalArgumentException("SavedBuffers.floats: length must be >= 0, got " + n);
        return FloatPool.uninitialized(n);
    }

    /** An int array of {@code n} elements with unspecified contents (a recycled one keeps its old values). */
    public static int[] ints(int n) {
        if (n < 0) throw new IllegalArgumentException("SavedBuffers.ints: length must be >= 0, got " + n);
        return FloatPool.ints(n);
    }

    /**
     * Hands {@code buffers} (float[] or int[] arrays that only the backward of the op that produced {@code out}
     * reads) to autograd: they go back to the pool when that backward has run without retaining the graph. When
     * {@code out} records no graph (grad mode off, or no input requires grad) no backward will read them, and they
     * go back at once. Returns {@code out}.
     */
    public static Tensor attach(Tensor out, Object... buffers) {
        for (Object b : buffers)
            if (!(b instanceof float[]) && !(b instanceof int[]))
                throw new IllegalArgumentException("SavedBuffers.attach: buffers must be float[] or int[] arrays, got "
                        + (b == null ? "null" : b.getClass().getSimpleName()));
        Node node = out.gradFn;
        if (node == null) {
            recycle(buffers);
        } else {
            if (node.saved != null)
                throw new IllegalStateException("SavedBuffers.attach: op '" + node.op + "' already has saved buffers");
            node.saved = buffers.clone();
        }
        return out;
    }

    /** After node's backward has run for the last time: its saved buffers back to the pool. */
    static void release(Node node) {
        if (node.saved == null) return;
        recycle(node.saved);
        node.saved = null;
    }

    /**
     * Down to the length from which {@link #floats} and {@link #ints} draw on the pool: an op asks for the same
     * lengths at every call, so what it gives back is what its next call takes.
     */
    private static void recycle(Object[] buffers) {
        for (Object b : buffers) {
            if (b instanceof float[] f) FloatPool.recycle(f, ActivationArena.MIN_LENGTH);
            else FloatPool.recycle((int[]) b, ActivationArena.MIN_LENGTH);
        }
    }
}
