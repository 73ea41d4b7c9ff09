package dev.kindling.onnx;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.Elementwise.Binary;
import dev.kindling.kernels.Elementwise.Unary;
import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * Elementwise ONNX ops with numpy broadcasting: arithmetic (FLOAT runs on the SIMD kernels of
 * {@link Elementwise}; DOUBLE and the integer types on scalar loops), comparisons and logic to BOOL, Where, unary
 * math, Cast and CastLike.
 */
final class ElementwiseOps {
    private ElementwiseOps() {}

    static final DataType[] NUMERIC = {DataType.FLOAT, DataType.DOUBLE, DataType.INT8, DataType.UINT8, DataType.INT16,
            DataType.UINT16, DataType.INT32, DataType.INT64, DataType.UINT32, DataType.UINT64};

    static Op.Compiled compile(Node n) {
        return switch (n.op()) {
            case "Add" -> arithmetic(n, Binary.ADD, Double::sum, Long::sum);
            case "Sub" -> arithmetic(n, Binary.SUB, (a, b) -> a - b, (a, b) -> a - b);
            case "Mul" -> arithmetic(n, Binary.MUL, (a, b) -> a * b, (a, b) -> a * b);
            case "Div" -> arithmetic(n, Binary.DIV, (a, b) -> a / b, (a, b) -> divide(n, a, b));
            case "Max", "Min" -> variadic(n, n.op().equals("Max"));
            case "Pow" -> pow(n);
            case "Equal" -> compare(n, (a, b) -> a == b, (a, b) -> a == b);
            case "Less" -> compare(n, (a, b) -> a < b, (a, b) -> a < b);
            case "LessOrEqual" -> compare(n, (a, b) -> a <= b, (a, b) -> a <= b);
            case "Greater" -> compare(n, (a, b) -> a > b, (a, b) -> a > b);
            case "GreaterOrEqual" -> compare(n, (a, b) -> a >= b, (a, b) -> a >= b);
            case "And" -> logic(n, (a, b) -> a & b);
            case "Or" -> logic(n, (a, b) -> a | b);
            case "Xor" -> logic(n, (a, b) -> a ^ b);
            case "Not" -> {
                n.requireInputs(1, 1);
                n.requireType(0, "input", DataType.BOOL);
                yield new Op.Compiled(in -> {
                    long[] o = new long[in[0].numel()];
                    for (int i = 0; i < o.length; i++) o[i] = in[0].l[i] ^ 1;
                    return new Value[] {Value.longs(DataType.BOOL, o, in[0].shape)};
                }, new Op.Type[] {n.types[0]});
            }
            case "Where" -> where(n);
            case "Neg" -> unary(n, Unary.NEG, x -> -x, true);
            case "Abs" -> unary(n, Unary.ABS, Math::abs, true);
            case "Exp" -> unary(n, Unary.EXP, Math::exp, false);
            case "Log" -> unary(n, Unary.LOG, Math::log, false);
            case "Sqrt" -> unary(n, Unary.SQRT, Math::sqrt, false);
            case "Reciprocal" -> unary(n, Unary.RECIPROCAL, x -> 1 / x, false);
            case "Tanh" -> unary(n, Unary.TANH, Math::tanh, false);
            case "Sigmoid" -> unary(n, Unary.SIGMOID, x -> 1 / (1 + Math.exp(-x)), false);
            case "Relu" -> unary(n, Unary.RELU, x -> Math.max(x, 0), true);
            case "Sin" -> unary(n, Unary.SIN, Math::sin, false);
            case "Cos" -> unary(n, Unary.COS, Math::cos, false);
            case "Erf" -> unary(n, null, Elementwise::erf, false);
            case "Floor" -> unary(n, null, Math::floor, false);
            case "Ceil" -> unary(n, null, Math::ceil, false);
            case "Gelu" -> unary(n, n.attrString("approximate", "none").equals("tanh") ? Unary.GELU_TANH : Unary.GELU, null, false);
            case "Cast" -> cast(n, DataType.of((int) n.attrInt("to", 0), "onnx: " + n.label() + ": 'to'"));
            case "CastLike" -> cast(n, n.dtype(1));
            default -> null;
        };
    }

    private static long divide(Node n, long a, long b) {
        if (b == 0) throw n.fail("integer division by zero");
        return a / b;
    }

    private static Op.Type[] one(Node n, DataType t) {
        return new Op.Type[] {new Op.Type(t, shape(n))};
    }

    /** The inferred broadcast shape of all inputs. */
    static int[] shape(Node n) {
        int[][] dims = new int[n.inputs()][];
        for (int i = 0; i < dims.length; i++) dims[i] = n.types[i] == null ? null : n.dims(i);
        try {
            return Broadcast.inferShape(dims);
        } catch (IllegalArgumentException e) {
            throw n.fail(e.getMessage());
        }
    }

    private static Op.Compiled arithmetic(Node n, Binary op, DoubleBinaryOperator dop, LongBinaryOperator lop) {
        n.requireInputs(2, 2);
        n.requireType(0, "A", NUMERIC);
        if (n.dtype(1) != n.dtype(0)) throw n.fail("A is " + n.dtype(0) + " but B is " + n.dtype(1));
        String label = n.label();
        return new Op.Compiled(new Op.Consuming() {
            @Override
            public Value[] run(Value[] in) {
                return new Value[] {binary(label, op, dop, lop, in[0], in[1], false)};
            }

            @Override
            public Value[] runConsuming(Value[] in) {
                return new Value[] {binary(label, op, dop, lop, in[0], in[1], true)};
            }
        }, one(n, n.dtype(0)));
    }

    /** a op b broadcast, in a's type. */
    static Value binary(String label, Binary op, DoubleBinaryOperator dop, LongBinaryOperator lop, Value a, Value b) {
        return binary(label, op, dop, lop, a, b, false);
    }

    /**
     * a op b broadcast, in a's type; with {@code overwrite}, a FLOAT a of the result's shape (a dead value: see
     * {@link Op.Consuming}) receives the result, element i from a[i] and b, so nothing is allocated.
     */
    private static Value binary(String label, Binary op, DoubleBinaryOperator dop, LongBinaryOperator lop, Value a, Value b, boolean overwrite) {
        int[] shape = Broadcast.shape(label, a.shape, b.shape);
        Value out = overwrite && a.f != null && Arrays.equals(shape, a.shape) ? a : Value.zeros(a.type, shape);
        if (a.f != null) {
            Broadcast.walk(shape, new int[][] {a.shape, b.shape}, (o, off, st, len) ->
                    Elementwise.binary(op, a.f, off[0], st[0], b.f, off[1], st[1], out.f, o, len));
        } else if (a.d != null) {
            Broadcast.walk(shape, new int[][] {a.shape, b.shape}, (o, off, st, len) -> {
                for (int i = 0; i < len; i++) out.d[o + i] = dop.applyAsDouble(a.d[off[0] + i * st[0]], b.d[off[1] + i * st[1]]);
            });
        } else {
            DataType t = a.type;
            Broadcast.walk(shape, new int[][] {a.shape, b.shape}, (o, off, st, len) -> {
                for (int i = 0; i < len; i++) out.l[o + i] = t.wrap(lop.applyAsLong(a.l[off[0] + i * st[0]], b.l[off[1] + i * st[1]]));
            });
        }
        return out;
    }

    /** Max and Min over one or more inputs, broadcast. */
    private static Op.Compiled variadic(Node n, boolean max) {
        n.requireInputs(1, Integer.MAX_VALUE);
        n.requireType(0, "input", NUMERIC);
        for (int i = 1; i < n.inputs(); i++) if (n.dtype(i) != n.dtype(0)) throw n.fail("input " + i + " is " + n.dtype(i) + " but input 0 is " + n.dtype(0));
        String label = n.label();
        // NaN propagates, as numpy.maximum does
        DoubleBinaryOperator dop = max ? (a, b) -> a != a || b != b ? Double.NaN : Math.max(a, b) : (a, b) -> a != a || b != b ? Double.NaN : Math.min(a, b);
        LongBinaryOperator lop = n.dtype(0) == DataType.UINT64 ? (max ? (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b : (a, b) -> Long.compareUnsigned(a, b) <= 0 ? a : b)
                : max ? Math::max : Math::min;
        Binary op = max ? Binary.MAX : Binary.MIN;
        return new Op.Compiled(in -> {
            Value acc = in[0];
            for (int i = 1; i < in.length; i++) {
                acc = acc.f != null ? binaryDouble(label, acc, in[i], dop) : binary(label, op, dop, lop, acc, in[i]);
            }
            return new Value[] {acc};
        }, one(n, n.dtype(0)));
    }

    /** a op b for floats through double (NaN-propagating max/min, where the SIMD kernels' semantics differ). */
    private static Value binaryDouble(String label, Value a, Value b, DoubleBinaryOperator op) {
        int[] shape = Broadcast.shape(label, a.shape, b.shape);
        Value out = Value.zeros(a.type, shape);
        Broadcast.walk(shape, new int[][] {a.shape, b.shape}, (o, off, st, len) -> {
            for (int i = 0; i < len; i++) out.f[o + i] = (float) op.applyAsDouble(a.f[off[0] + i * st[0]], b.f[off[1] + i * st[1]]);
        });
        return out;
    }

    /** Pow(X, Y): the result has X's type; Y may be any numeric type. */
    private static Op.Compiled pow(Node n) {
        n.requireInputs(2, 2);
        n.requireType(0, "X", NUMERIC);
        n.requireType(1, "Y", NUMERIC);
        String label = n.label();
        Value exponent = n.constants[1];
        boolean square = exponent != null && exponent.numel() == 1 && exponent.getDouble(0) == 2 && n.dtype(0) == DataType.FLOAT;
        return new Op.Compiled(in -> {
            Value x = in[0], y = in[1];
            if (square) return new Value[] {binary(label, Binary.MUL, null, null, x, x)};
            int[] shape = Broadcast.shape(label, x.shape, y.shape);
            Value out = Value.zeros(x.type, shape);
            Broadcast.walk(shape, new int[][] {x.shape, y.shape}, (o, off, st, len) -> {
                for (int i = 0; i < len; i++) {
                    double v = Math.pow(x.getDouble(off[0] + i * st[0]), y.getDouble(off[1] + i * st[1]));
                    if (out.f != null) out.f[o + i] = (float) v;
                    else if (out.d != null) out.d[o + i] = v;
                    else out.l[o + i] = x.type.wrap((long) v);
                }
            });
            return new Value[] {out};
        }, one(n, n.dtype(0)));
    }

    interface DoublePredicate2 { boolean test(double a, double b); }

    interface LongPredicate2 { boolean test(long a, long b); }

    private static Op.Compiled compare(Node n, DoublePredicate2 dp, LongPredicate2 lp) {
        n.requireInputs(2, 2);
        if (n.dtype(1) != n.dtype(0)) throw n.fail("A is " + n.dtype(0) + " but B is " + n.dtype(1));
        if (n.dtype(0) == DataType.FLOAT16 || n.dtype(0) == DataType.BFLOAT16) throw n.unsupported("inputs of type " + n.dtype(0) + " are not supported");
        boolean unsigned64 = n.dtype(0) == DataType.UINT64;
        String label = n.label();
        return new Op.Compiled(in -> {
            Value a = in[0], b = in[1];
            int[] shape = Broadcast.shape(label, a.shape, b.shape);
            long[] out = new long[Value.numel(shape)];
            Broadcast.walk(shape, new int[][] {a.shape, b.shape}, (o, off, st, len) -> {
                for (int i = 0; i < len; i++) {
                    int p = off[0] + i * st[0], q = off[1] + i * st[1];
                    boolean r;
                    if (a.l != null) {
                        long x = a.l[p], y = b.l[q];
                        if (unsigned64) { x ^= Long.MIN_VALUE; y ^= Long.MIN_VALUE; }
                        r = lp.test(x, y);
                    } else r = dp.test(a.getDouble(p), b.getDouble(q));
                    out[o + i] = r ? 1 : 0;
                }
            });
            return new Value[] {Value.longs(DataType.BOOL, out, shape)};
        }, one(n, DataType.BOOL));
    }

    private static Op.Compiled logic(Node n, LongBinaryOperator op) {
        n.requireInputs(2, 2);
        n.requireType(0, "A", DataType.BOOL);
        n.requireType(1, "B", DataType.BOOL);
        String label = n.label();
        return new Op.Compiled(in -> new Value[] {binary(label, null, null, op, in[0], in[1])}, one(n, DataType.BOOL));
    }

    private static Op.Compiled where(Node n) {
        n.requireInputs(3, 3);
        n.requireType(0, "condition", DataType.BOOL);
        if (n.dtype(1) != n.dtype(2)) throw n.fail("X is " + n.dtype(1) + " but Y is " + n.dtype(2));
        String label = n.label();
        return new Op.Compiled(in -> {
            Value c = in[0], x = in[1], y = in[2];
            int[] shape = Broadcast.shape(label, c.shape, x.shape, y.shape);
            Value out = Value.zeros(x.type, shape);
            Broadcast.walk(shape, new int[][] {c.shape, x.shape, y.shape}, (o, off, st, len) -> {
                for (int i = 0; i < len; i++) {
                    boolean t = c.l[off[0] + i * st[0]] != 0;
                    int p = t ? off[1] + i * st[1] : off[2] + i * st[2];
                    Value v = t ? x : y;
                    if (out.f != null) out.f[o + i] = v.f[p];
                    else if (out.d != null) out.d[o + i] = v.d[p];
                    else out.l[o + i] = v.l[p];
                }
            });
            return new Value[] {out};
        }, one(n, n.dtype(1)));
    }

    /** A float unary op: FLOAT through the SIMD kernel {@code op} when given, DOUBLE (and ints if allowed) through {@code dop}. */
    private static Op.Compiled unary(Node n, Unary op, DoubleUnaryOperator dop, boolean integers) {
        n.requireInputs(1, 1);
        DataType t = n.dtype(0);
        boolean ok = t == DataType.FLOAT || (t == DataType.DOUBLE && dop != null) || (integers && t.isInteger() && t != DataType.BOOL);
        if (!ok) throw n.unsupported("input of type " + t + " is not supported");
        return new Op.Compiled(in -> {
            Value x = in[0];
            int len = x.numel();
            if (x.f != null) {
                float[] o = new float[len];
                if (op != null) Elementwise.unary(op, x.f, 0, 1, o, 0, len);
                else for (int i = 0; i < len; i++) o[i] = (float) dop.applyAsDouble(x.f[i]);
                return new Value[] {Value.floats(o, x.shape)};
            }
            if (x.d != null) {
                double[] o = new double[len];
                for (int i = 0; i < len; i++) o[i] = dop.applyAsDouble(x.d[i]);
                return new Value[] {Value.doubles(o, x.shape)};
            }
            long[] o = new long[len];
            for (int i = 0; i < len; i++) o[i] = x.type.wrap((long) dop.applyAsDouble(x.l[i]));
            return new Value[] {Value.longs(x.type, o, x.shape)};
        }, new Op.Type[] {n.types[0]});
    }

    private static Op.Compiled cast(Node n, DataType to) {
        n.requireInputs(n.op().equals("CastLike") ? 2 : 1, n.op().equals("CastLike") ? 2 : 1);
        return new Op.Compiled(in -> new Value[] {cast(in[0], to)}, new Op.Type[] {new Op.Type(to, n.dims(0))});
    }

    /** x converted to {@code to}: floats to integers truncate toward zero, anything to BOOL is (x != 0). */
    static Value cast(Value x, DataType to) {
        if (x.type == to) return x;
        int len = x.numel();
        if (to == DataType.DOUBLE) {
            double[] o = new double[len];
            for (int i = 0; i < len; i++) o[i] = x.l != null && x.type == DataType.UINT64 ? unsigned(x.l[i]) : x.getDouble(i);
            return Value.doubles(o, x.shape);
        }
        if (to.isFloat()) {
            float[] o = new float[len];
            for (int i = 0; i < len; i++) o[i] = to.round(x.l != null && x.type == DataType.UINT64 ? (float) unsigned(x.l[i]) : (float) x.getDouble(i));
            return Value.floats(to, o, x.shape);
        }
        long[] o = new long[len];
        if (x.l != null) for (int i = 0; i < len; i++) o[i] = to.wrap(x.l[i]);
        else if (to == DataType.BOOL) for (int i = 0; i < len; i++) o[i] = x.getDouble(i) != 0 ? 1 : 0;
        else for (int i = 0; i < len; i++) o[i] = to.wrap((long) x.getDouble(i));
        return Value.longs(to, o, x.shape);
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2 + (v & 1);
    }
}
