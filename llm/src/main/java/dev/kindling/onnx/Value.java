package dev.kindling.onnx;

import java.util.Arrays;

/**
 * A dense row-major tensor flowing through an ONNX graph: an element type, a shape and exactly one of a
 * {@code float[]} (FLOAT, FLOAT16, BFLOAT16), {@code double[]} (DOUBLE) or {@code long[]} (integers and BOOL).
 * Values are never written after an op has produced them, so ops may return an input unchanged (Identity,
 * Reshape) without copying.
 */
final class Value {
    final DataType type;
    final int[] shape;
    final float[] f;
    final double[] d;
    final long[] l;

    private Value(DataType type, int[] shape, float[] f, double[] d, long[] l) {
        this.type = type;
        this.shape = shape;
        this.f = f;
        this.d = d;
        this.l = l;
        int n = numel(shape);
        int len = f != null ? f.length : d != null ? d.length : l.length;
        if (len != n) throw new IllegalArgumentException("onnx: " + len + " elements for shape " + Arrays.toString(shape));
    }

    static Value floats(float[] data, int... shape) {
        return new Value(DataType.FLOAT, shape, data, null, null);
    }

    static Value floats(DataType type, float[] data, int... shape) {
        return new Value(type, shape, data, null, null);
    }

    static Value doubles(double[] data, int... shape) {
        return new Value(DataType.DOUBLE, shape, null, data, null);
    }

    static Value longs(DataType type, long[] data, int... shape) {
        return new Value(type, shape, null, null, data);
    }

    /** A zero-filled value of {@code type}. */
    static Value zeros(DataType type, int... shape) {
        int n = numel(shape);
        if (type == DataType.DOUBLE) return doubles(new double[n], shape);
        if (type.isFloat()) return floats(type, new float[n], shape);
        return longs(type, new long[n], shape);
    }

    static Value scalarLong(DataType type, long v) {
        return longs(type, new long[] {v});
    }

    int numel() {
        return numel(shape);
    }

    int rank() {
        return shape.length;
    }

    /** The same data under another shape of equal size (no copy). */
    Value reshape(int... newShape) {
        return new Value(type, newShape, f, d, l);
    }

    /** Element i as a double (exact for floats and for integers up to 2^53). */
    double getDouble(int i) {
        return f != null ? f[i] : d != null ? d[i] : (double) l[i];
    }

    /** Element i as a long (floats truncate toward zero, as a C cast). */
    long getLong(int i) {
        return l != null ? l[i] : f != null ? (long) f[i] : (long) d[i];
    }

    /** All elements as longs: the shape-like inputs (Reshape's shape, Slice's starts, ...). */
    long[] longs(String what) {
        if (!type.isInteger()) throw new IllegalArgumentException(what + " must be an integer tensor, got " + type);
        return l;
    }

    static int numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("onnx: negative dimension in shape " + Arrays.toString(shape));
            n *= s;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("onnx: shape " + Arrays.toString(shape) + " has more than 2^31 elements");
        }
        return (int) n;
    }

    /** Row-major strides of shape. */
    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape);
    }
}
