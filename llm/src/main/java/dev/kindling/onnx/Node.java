package dev.kindling.onnx;

import java.util.Arrays;
import java.util.List;

/**
 * What compiling one node sees: its attributes, opset, the load-time types of its inputs and the values of those
 * inputs that are constant (initializers, Constant outputs). Errors made here name the node.
 */
final class Node {
    final Proto.Node proto;
    final int index;
    final long opset;
    final Op.Type[] types;   // per input; null for an omitted optional input
    final Value[] constants; // per input; null unless constant

    Node(Proto.Node proto, int index, long opset, Op.Type[] types, Value[] constants) {
        this.proto = proto;
        this.index = index;
        this.opset = opset;
        this.types = types;
        this.constants = constants;
    }

    String label() {
        return proto.label(index);
    }

    String op() {
        return proto.opType();
    }

    int inputs() {
        return types.length;
    }

    boolean has(int i) {
        return i < types.length && types[i] != null;
    }

    int outputs() {
        return proto.outputs().size();
    }

    /** Whether output i is wanted (present and named). */
    boolean wants(int i) {
        return i < proto.outputs().size() && !proto.outputs().get(i).isEmpty();
    }

    DataType dtype(int i) {
        return types[i].dtype();
    }

    int[] dims(int i) {
        return types[i].dims();
    }

    IllegalArgumentException fail(String message) {
        return new IllegalArgumentException("onnx: " + label() + ": " + message);
    }

    UnsupportedOperationException unsupported(String message) {
        return new UnsupportedOperationException("onnx: " + label() + ": " + message);
    }

    void requireInputs(int min, int max) {
        int n = types.length;
        if (n < min || n > max)
            throw fail("takes " + (min == max ? "" + min : min + " to " + max) + " inputs, got " + n);
        for (int i = 0; i < min; i++) if (types[i] == null) throw fail("input " + i + " is required");
    }

    /** Fails unless input i's type is one of {@code allowed}. */
    void requireType(int i, String role, DataType... allowed) {
        for (DataType t : allowed) if (types[i].dtype() == t) return;
        throw unsupported(role + " of type " + types[i].dtype() + " is not supported (" + Arrays.toString(allowed) + ")");
    }

    boolean hasAttr(String name) {
        return proto.attributes().containsKey(name);
    }

    long attrInt(String name, long def) {
        Proto.Attribute a = proto.attributes().get(name);
        return a == null ? def : a.i();
    }

    float attrFloat(String name, float def) {
        Proto.Attribute a = proto.attributes().get(name);
        return a == null ? def : a.f();
    }

    String attrString(String name, String def) {
        Proto.Attribute a = proto.attributes().get(name);
        return a == null || a.s() == null ? def : a.s();
    }

    long[] attrInts(String name) {
        Proto.Attribute a = proto.attributes().get(name);
        return a == null ? null : a.ints();
    }

    Value attrTensor(String name) {
        Proto.Attribute a = proto.attributes().get(name);
        return a == null ? null : a.t();
    }

    /** The constant value of input i, or an error saying the op needs it constant here. */
    Value constant(int i, String role) {
        if (!has(i)) return null;
        if (constants[i] == null) throw unsupported(role + " (input " + i + ") must be a constant");
        return constants[i];
    }

    /** An axis in [-rank, rank) made non-negative. */
    int axis(long axis, int rank) {
        if (axis < -rank || axis >= rank) throw fail("axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    static int axis(String label, long axis, int rank) {
        if (axis < -rank || axis >= rank)
            throw new IllegalArgumentException("onnx: " + label + ": axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** The output types array with {@code n} copies of t. */
    static Op.Type[] types(int n, Op.Type t) {
        Op.Type[] a = new Op.Type[n];
        Arrays.fill(a, t);
        return a;
    }

    List<String> inputNames() {
        return proto.inputs();
    }
}
