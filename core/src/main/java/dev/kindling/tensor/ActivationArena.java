package dev.kindling.tensor;

import dev.kindling.autograd.Grad;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Recycles a model's forward activations once backward has consumed them. A training step otherwise allocates
 * every activation afresh: a baby-GPT step spent a quarter of its time in the JVM zeroing new arrays (on two
 * threads most of the calling thread's time, while the kernel threads waited), and the collector copied the
 * activations that happened to be live at each young collection.
 *
 * <p>{@link #run} runs a forward and notes the float arrays it allocates on the calling thread. When a later
 * {@link Tensor#backward()} (without a retained graph) has run the backward of the forward's output, the noted
 * arrays that are outputs of ops in that graph go back to the pool that {@code Tensor.zeros} and the kernels'
 * outputs draw from, so the next step's forward reuses them. Kept out of the pool: the returned output's storage
 * (the caller may still read the logits), every leaf's gradient, and arrays that are not the output of a graph op
 * (a module's caches, for example).
 *
 * <p>The forward must hand out no tensor it computes other than its result (no intermediate kept in a field,
 * returned through a side channel or hooked): those are the tensors whose storage is reused. Nested calls and
 * forwards with grad mode off run as plain calls.
 */
public final class ActivationArena {
    /** Arrays below this many floats come cheaply from the thread's allocation buffer: not worth a pool lookup. */
    static final int MIN_LENGTH = 1 << 12;

    private static final ThreadLocal<Recording> CURRENT = new ThreadLocal<>();

    private ActivationArena() {}

    /** The arrays one forward allocated, until backward releases them. */
    static final class Recording {
        final Set<float[]> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /**
     * Runs {@code forward} and returns its result; once a backward through that result has run, the activations
     * it allocated are reused by later allocations (see the class comment for what the forward must not do).
     */
    public static Tensor run(Supplier<Tensor> forward) {
        if (CURRENT.get() != null || !Grad.isEnabled()) return forward.get();
        var rec = new Recording();
        CURRENT.set(rec);
        Tensor out;
        try {
            out = forward.get();
        } finally {
            CURRENT.remove();
        }
        if (out.gradFn != null && !rec.arrays.isEmpty()) {
            rec.arrays.remove(out.data); // the caller holds the result (and views of it) after backward
            out.gradFn.arena = rec;
        }
        return out;
    }

    /** Called by the pool for each array it hands out: notes it when a forward on this thread is recording. */
    static void note(float[] a) {
        Recording rec = CURRENT.get();
        if (rec != null) rec.arrays.add(a);
    }

    /**
     * After a backward that did not retain the graph: for each recorded forward whose output's backward ran, gives
     * its arrays that are outputs of graph ops back to the pool, except the leaves' gradients.
     */
    static void release(List<Tensor> order) {
        Set<Object> graphOutputs = null, leafGrads = null;
        for (Tensor t : order) {
            Node node = t.gradFn;
            if (node == null || node.arena == null || node.backward != null) continue;
            if (graphOutputs == null) {
                graphOutputs = Collections.newSetFromMap(new IdentityHashMap<>());
                leafGrads = Collections.newSetFromMap(new IdentityHashMap<>());
                for (Tensor u : order) {
                    if (u.gradFn != null) graphOutputs.add(u.data);
                    else if (u.grad != null) leafGrads.add(u.grad.data);
                }
            }
            for (float[] a : node.arena.arrays)
                if (graphOutputs.contains(a) && !leafGrads.contains(a)) FloatPool.recycle(a, MIN_LENGTH);
            node.arena = null;
        }
    }
}
