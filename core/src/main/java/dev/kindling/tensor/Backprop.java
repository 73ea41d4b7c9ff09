package dev.kindling.tensor;

import dev.kindling.autograd.Grad;
import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.Parallel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Reverse-mode traversal: topological order from the root, gradients summed per tensor, leaves accumulate. */
final class Backprop {
    private Backprop() {}

    static void run(Tensor root, Tensor gradient, boolean retainGraph) {
        if (!root.requiresGrad)
            throw new IllegalStateException("backward: the tensor does not require grad and has no grad_fn");
        if (gradient == null) {
            if (root.numel() != 1)
                throw new IllegalArgumentException("backward: gradient can be implied only for scalar outputs, got shape "
                        + Shapes.str(root.shape) + "; pass a gradient of that shape");
            gradient = Tensor.ones(root.shape);
        } else if (!java.util.Arrays.equals(gradient.shape, root.shape)) {
            throw new IllegalArgumentException("backward: gradient shape " + Shapes.str(gradient.shape)
                    + " does not match the output shape " + Shapes.str(root.shape));
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        Tensor seed = gradient.toFloat();
        grads.put(root, seed);
        Autocast.clearCache(); // the optimizer may change the weights after this backward
        // A leaf may take a gradient's storage as its .grad instead of copying it (the copy and the allocation
        // were a fifth of a small MLP step) when nothing else can see that storage: it is not the data of any
        // tensor in the graph (saved activations, parameters, the seed) and no other gradient in flight shares it.
        Map<Object, Boolean> guarded = new IdentityHashMap<>();
        for (Tensor t : order) guarded.put(t.data, Boolean.TRUE);
        guarded.put(seed.data, Boolean.TRUE);
        // A graph recorded under an ActivationArena (a training step) allocates the same lengths every step, so its
        // dead gradients are pooled down to the arena's size; elsewhere only large ones are (FloatPool.MIN_LENGTH).
        int recycleMin = FloatPool.MIN_LENGTH;
        for (Tensor t : order) if (t.gradFn != null && t.gradFn.arena != null) recycleMin = ActivationArena.MIN_LENGTH;
        Map<Object, Integer> live = new IdentityHashMap<>(); // gradient references per storage held by this loop
        live.merge(seed.data, 1, Integer::sum);
        // backward ops run in the dtypes the forward chose, not under the caller's autocast setting
        try (var noGrad = Grad.disabled(); var noCast = Autocast.disabled()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue;
                Node node = t.gradFn;
                if (node == null) {
                    t.accumulateGrad(g, live.get(g.data) == 1 && !guarded.containsKey(g.data));
                    release(live, g);
                    if (t.grad.data != g.data) recycleIfDead(g, live, guarded, retainGraph, recycleMin);
                    if (t.postAccumulateGradHooks != null)
                        for (var hook : t.postAccumulateGradHooks) hook.accept(t);
                    continue;
                }
                if (t.retainsGrad) t.accumulateGrad(g, false);
                if (node.backward == null)
                    throw new IllegalStateException("backward: trying to go through the graph a second time (op '" + node.op
                            + "'): its saved tensors were freed by the first backward; call backward(grad, true) to retain the graph");
                Tensor[] inGrads = node.backward.apply(g);
                if (!retainGraph) {
                    node.backward = null;
                    SavedBuffers.release(node);
                }
                for (int k = 0; k < node.inputs.length; k++) {
                    Tensor in = node.inputs[k];
                    Tensor ig = k < inGrads.length ? inGrads[k] : null;
                    if (in == null || ig == null || !in.requiresGrad) continue;
                    if (!java.util.Arrays.equals(ig.shape, in.shape))
                        throw new IllegalStateException("backward of '" + node.op + "' produced a gradient of shape "
                                + Shapes.str(ig.shape) + " for an input of shape " + Shapes.str(in.shape));
                    Tensor prev = grads.get(in);
                    if (prev == null) {
                        grads.put(in, ig);
                        live.merge(ig.data, 1, Integer::sum);
                    } else if (addInPlace(prev, ig, live, guarded, retainGraph)) {
                        recycleIfDead(ig, live, guarded, retainGraph, recycleMin);
                    } else {
                        Tensor sum = prev.add(ig);
                        grads.put(in, sum);
                        release(live, prev);
                        live.merge(sum.data, 1, Integer::sum);
                    }
                }
                release(live, g);
                recycleIfDead(g, live, guarded, retainGraph, recycleMin);
            }
        }
        if (!retainGraph) ActivationArena.release(order);
    }

    /**
     * Hands a consumed gradient's array to {@link FloatPool} when nothing can reach it any more: no gradient still
     * in flight shares it, it is no tensor's data in the graph (nor the seed), and no leaf took it as its .grad
     * (the caller checks that). With a retained graph a later backward may still meet it, so it is kept.
     */
    private static void recycleIfDead(Tensor g, Map<Object, Integer> live, Map<Object, Boolean> guarded, boolean retainGraph,
                                      int minLength) {
        if (retainGraph || !(g.data instanceof float[] a) || live.containsKey(a) || guarded.containsKey(a)) return;
        FloatPool.recycle(a, minLength);
    }

    /**
     * prev += ig in place when prev's array is this loop's alone: a whole contiguous array that no other gradient in
     * flight shares and no graph tensor holds. A tensor used twice (the residual stream, a tied weight) then sums
     * its gradients without a fresh array per sum (they were two fifths of a GPT step's allocation); the bits are
     * those of prev.add(ig), float addition being commutative.
     */
    private static boolean addInPlace(Tensor prev, Tensor ig, Map<Object, Integer> live, Map<Object, Boolean> guarded,
                                      boolean retainGraph) {
        if (retainGraph || !(prev.data instanceof float[] acc) || !(ig.data instanceof float[] add) || acc == add) return false;
        int n = acc.length;
        if (prev.offset != 0 || prev.numel() != n || !prev.isContiguous() || !ig.isContiguous()
                || guarded.containsKey(acc) || live.getOrDefault(acc, 0) != 1) return false;
        int io = ig.offset;
        Parallel.forRange(n, 1, (from, to) -> Elementwise.addInto(add, io + from, 1, acc, from, to - from));
        return true;
    }

    private static void release(Map<Object, Integer> live, Tensor g) {
        live.computeIfPresent(g.data, (k, n) -> n == 1 ? null : n - 1);
    }

    /** Tensors reachable from root through grad_fn edges, each after all of its inputs. */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Map<Tensor, Boolean> visited = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>(); // {tensor, next input index}
        stack.push(new Object[] {root, 0});
        visited.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            Tensor[] inputs = t.gradFn == null ? new Tensor[0] : t.gradFn.inputs;
            if (next < inputs.length) {
                top[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad && visited.put(in, Boolean.TRUE) == null) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
