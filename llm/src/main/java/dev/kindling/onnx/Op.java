package dev.kindling.onnx;

/** A node compiled for running: inputs in the node's order (null for an omitted optional input) to its outputs. */
@FunctionalInterface
interface Op {
    Value[] run(Value[] in);

    /** An element type and a shape known at load: dims null when the rank is unknown, -1 for an unknown dimension. */
    record Type(DataType dtype, int[] dims) {
        static Type of(Value v) {
            return new Type(v.type, v.shape);
        }
    }

    /**
     * An op that can write its result over its first input's array: {@link Graph} calls {@link #runConsuming} instead
     * of {@link #run} when that input dies at this step and no other value (a live slot, a constant, a graph input
     * of the caller, another input of this step) shares its array, since Reshape and Identity pass arrays on. It
     * saves a copy of the input (an encoder layer's 6.3 MB at 32 x 128 tokens, per layer).
     */
    interface Consuming extends Op {
        Value[] runConsuming(Value[] in);
    }

    /**
     * A compiled node with the types of its outputs (shape inference at load), and the inputs it consumed at load
     * and never reads when it runs (constant weights it packed into its own form): {@link Graph} passes null for
     * them and drops such constants once no step reads them, so a model does not hold its weights twice.
     */
    record Compiled(Op op, Type[] out, int... loadOnly) {
        Compiled(Op op, Type[] out) {
            this(op, out, new int[0]);
        }
    }
}
