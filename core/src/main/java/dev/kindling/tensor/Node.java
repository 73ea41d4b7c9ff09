package dev.kindling.tensor;

/**
 * One recorded op in the autograd graph: its inputs and the function that maps the gradient of its
 * output to gradients of its inputs. The saved tensors live in that function's closure; backward drops
 * the function (unless asked to retain the graph), so a second backward through it fails clearly.
 */
final class Node {
    /** Maps the output gradient to one gradient per input (null where an input needs none). */
    @FunctionalInterface
    interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    final String op;
    final Tensor[] inputs;
    Backward backward;
    /** Set on the output of an {@link ActivationArena#run} forward: the arrays to reuse once this node has run. */
    ActivationArena.Recording arena;
    /** Arrays only this node's backward reads ({@link SavedBuffers#attach}): pooled once it has run for good. */
    Object[] saved;

    Node(String op, Tensor[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }
}
