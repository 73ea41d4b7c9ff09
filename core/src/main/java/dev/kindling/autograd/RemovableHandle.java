package dev.kindling.autograd;

/**
 * Removes what a registration added (PyTorch's RemovableHandle), e.g. a hook from
 * {@link dev.kindling.tensor.Tensor#registerPostAccumulateGradHook}. Removing twice is harmless.
 */
@FunctionalInterface
public interface RemovableHandle extends AutoCloseable {
    /** Undoes the registration. */
    void remove();

    /** Same as {@link #remove()}, for try-with-resources. */
    @Override
    default void close() {
        remove();
    }
}
