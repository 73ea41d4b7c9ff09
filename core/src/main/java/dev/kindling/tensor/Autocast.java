package dev.kindling.tensor;

import dev.kindling.autograd.Grad;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Automatic mixed precision, per thread (PyTorch's {@code torch.autocast("cpu", dtype)}). Inside
 * {@code try (var ac = Autocast.enable(DType.BF16)) { ... }} matmul, linear, convolution and attention cast their
 * floating-point inputs to the 16-bit dtype, multiply with FLOAT32 accumulation and return a tensor of that
 * dtype; every other op (pointwise, reductions, softmax, norms, losses) computes in FLOAT32, as all Kindling
 * arithmetic does, and promotes 16-bit inputs to it. Gradients flow back through the casts, so parameters
 * (the FLOAT32 master weights) receive FLOAT32 gradients and the optimizer state stays FLOAT32.
 *
 * <p>Wrap the forward pass and the loss, not backward (as in PyTorch): backward ops run in the dtypes the
 * forward chose. Within a scope each parameter (a leaf that requires grad) is cast once and the copy reused by
 * every use until the scope closes or a backward starts, so a step converts each weight once, not per call.
 *
 * <pre>{@code
 * try (var ac = Autocast.enable(DType.BF16)) {
 *     loss = criterion.forward(model.forward(x), y);   // logits are BF16, the loss FLOAT32
 * }
 * loss.backward();                                        // weight.grad() is FLOAT32
 * }</pre>
 */
public final class Autocast {
    /** Per thread: the active dtype (null when off) and the cast cache of the outermost enabled scope. */
    private static final class State {
        DType dtype;
        Map<Tensor, Tensor> cache = new IdentityHashMap<>();
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    private Autocast() {}

    /**
     * A scope in which the ops above run in {@code dtype}; closing it restores the previous setting.
     *
     * @throws IllegalArgumentException unless dtype is BF16 or F16
     */
    public static Scope enable(DType dtype) {
        if (dtype != DType.BF16 && dtype != DType.F16)
            throw new IllegalArgumentException("Autocast.enable: dtype must be BF16 or F16, got " + dtype);
        return set(dtype);
    }

    /** A scope with autocast off (inside an enabled one); closing it restores the previous setting. */
    public static Scope disabled() {
        return set(null);
    }

    /** The dtype autocast casts to on this thread, or null when it is off. */
    public static DType dtype() {
        return STATE.get().dtype;
    }

    /**
     * {@code t} in the autocast dtype (differentiably), or {@code t} itself when autocast is off or t is not a
     * floating-point tensor. A parameter is converted once per scope (and again after a backward), then served from a cache.
     */
    public static Tensor cast(Tensor t) {
        State s = STATE.get();
        if (s.dtype == null || t == null || !t.dtype.isFloatingPoint() || t.dtype == s.dtype) return t;
        // Only leaves that require grad are cached: their values cannot change inside the forward pass.
        if (!(t.isLeaf() && t.requiresGrad && Grad.isEnabled())) return t.to(s.dtype);
        Tensor c = s.cache.get(t);
        if (c == null || c.dtype != s.dtype) s.cache.put(t, c = t.to(s.dtype));
        return c;
    }

    /** Forgets cached casts: the weights may change after a backward (the optimizer step). */
    static void clearCache() {
        STATE.get().cache.clear();
    }

    private static Scope set(DType dtype) {
        State s = STATE.get();
        DType previous = s.dtype;
        s.dtype = dtype;
        return () -> {
            s.dtype = previous;
            if (previous == null) s.cache.clear();
        };
    }

    /** An autocast scope; close() never throws. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
