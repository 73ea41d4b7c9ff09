package dev.kindling.autograd;

/**
 * Gradient recording mode, per thread. Recording is on by default; {@code try (var g = Grad.disabled()) {...}}
 * turns it off for inference and optimizer updates (PyTorch's {@code torch.no_grad()}).
 */
public final class Grad {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private Grad() {}

    /** Whether ops on tensors that require grad record a graph on this thread. */
    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** A scope with recording off; closing it restores the previous mode. */
    public static Scope disabled() {
        return set(false);
    }

    /** A scope with recording on (inside a disabled scope); closing it restores the previous mode. */
    public static Scope enabled() {
        return set(true);
    }

    private static Scope set(boolean on) {
        boolean[] flag = ENABLED.get();
        boolean previous = flag[0];
        flag[0] = on;
        return () -> flag[0] = previous;
    }

    /** A grad-mode scope; close() never throws. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
