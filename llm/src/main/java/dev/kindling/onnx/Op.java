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

    /** A compiled node with the types of its outputs (shape inference at load). */
    record Compiled(Op op, Type[] out) {}
}
