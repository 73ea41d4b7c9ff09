package dev.kindling.autograd;

import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.function.Function;

/**
 * Activation checkpointing (PyTorch's {@code torch.utils.checkpoint}): trade compute for memory by not keeping a
 * function's intermediate activations for backward. The forward runs with grad recording off, so only the inputs
 * and the output stay alive; backward runs the function again with recording on (same autocast setting, same
 * random numbers) and backpropagates through that recomputation. Gradients equal those of the plain run.
 *
 * <pre>{@code
 * for (Block block : blocks) x = Checkpoint.checkpoint(in -> block.forward(in[0]), x);
 * }</pre>
 */
public final class Checkpoint {
    private Checkpoint() {}

    /**
     * {@code fn(inputs)} without its activations kept. {@code fn} must compute the same values when called again
     * (a module in training mode with dropout draws from {@link Generator#global()}, whose state is replayed; use
     * {@link #checkpoint(Function, List, Tensor...)} for other generators). Parameters that fn uses receive their
     * gradients during backward as usual. When grad recording is off or no input requires grad, fn simply runs.
     */
    public static Tensor checkpoint(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        return checkpoint(fn, List.of(), inputs);
    }

    /** {@link #checkpoint(Function, Tensor...)}, also replaying the given generators' states in the recomputation. */
    public static Tensor checkpoint(Function<Tensor[], Tensor> fn, List<Generator> generators, Tensor... inputs) {
        boolean anyGrad = false;
        for (Tensor t : inputs) anyGrad |= t != null && t.requiresGrad();
        if (!Grad.isEnabled() || !anyGrad) return fn.apply(inputs);
        DType cast = Autocast.dtype();
        Generator[] rngs = new Generator[generators.size() + 1];
        rngs[0] = Generator.global();
        for (int i = 0; i < generators.size(); i++) rngs[i + 1] = generators.get(i);
        long[][] states = new long[rngs.length][];
        for (int i = 0; i < rngs.length; i++) states[i] = rngs[i].state();
        Tensor out;
        try (var off = Grad.disabled()) {
            out = fn.apply(inputs);
        }
        if (out == null) throw new IllegalArgumentException("checkpoint: the function returned null");
        // detach: fn may return one of its inputs, which must not get a second grad_fn
        return Tensor.customOp("checkpoint", out.detach(), g -> recompute(fn, inputs, cast, rngs, states, g), inputs);
    }

    /** Runs fn again on leaf copies of the inputs and backpropagates g through it; returns the inputs' gradients. */
    private static Tensor[] recompute(Function<Tensor[], Tensor> fn, Tensor[] inputs, DType cast, Generator[] rngs,
                                      long[][] states, Tensor g) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++)
            leaves[i] = inputs[i] == null ? null : inputs[i].detach().requiresGrad(inputs[i].requiresGrad());
        long[][] now = new long[rngs.length][];
        for (int i = 0; i < rngs.length; i++) {
            now[i] = rngs[i].state();
            rngs[i].setState(states[i]);
        }
        Tensor again;
        try (var on = Grad.enabled(); var ac = cast == null ? Autocast.disabled() : Autocast.enable(cast)) {
            again = fn.apply(leaves);
        } finally {
            for (int i = 0; i < rngs.length; i++) rngs[i].setState(now[i]);
        }
        if (again.requiresGrad()) again.backward(g);
        Tensor[] grads = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) grads[i] = leaves[i] == null ? null : leaves[i].grad();
        return grads;
    }
}
