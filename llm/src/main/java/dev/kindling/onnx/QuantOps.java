package dev.kindling.onnx;

import dev.kindling.kernels.DynamicQuantization;
import java.util.Arrays;

/**
 * The quantization ops that dynamically quantized transformer exports use: DynamicQuantizeLinear, MatMulInteger,
 * QuantizeLinear and DequantizeLinear. Rounding is half to even, as ONNX specifies.
 * <p>MatMulInteger runs on the float GEMM: the operands, zero points subtracted, are small integers (|a| &lt;= 255,
 * |b| &lt;= 255) whose products are exact in float, and sums stay exact while they are below 2^24 in magnitude, which
 * covers k up to 258 for any values and far larger k for the values real activations take. Beyond that the int32
 * result is the float sum rounded (a relative error below 6e-8) rather than wrapped.
 */
final class QuantOps {
    private QuantOps() {}

    static Op.Compiled compile(Node n) {
        return switch (n.op()) {
            case "DynamicQuantizeLinear" -> dynamicQuantize(n);
            case "MatMulInteger" -> matmulInteger(n);
            case "QuantizeLinear" -> quantize(n);
            case "DequantizeLinear" -> dequantize(n);
            default -> null;
        };
    }

    private static Op.Compiled dynamicQuantize(Node n) {
        n.requireInputs(1, 1);
        n.requireType(0, "x", DataType.FLOAT);
        return new Op.Compiled(in -> dynamicQuantize(in[0]), new Op.Type[] {new Op.Type(DataType.UINT8, n.dims(0)),
                new Op.Type(DataType.FLOAT, new int[0]), new Op.Type(DataType.UINT8, new int[0])});
    }

    /** y = saturate(round(x / scale) + zp) over [min(0, min x), max(0, max x)] mapped to [0, 255]. */
    static Value[] dynamicQuantize(Value x) {
        float[] sz = DynamicQuantization.scaleAndZeroPoint(x.f, 0, x.numel());
        float[] shifted = new float[x.numel()];
        DynamicQuantization.quantizeShifted(x.f, 0, shifted.length, sz[0], sz[1], shifted, 0);
        long zp = (long) sz[1];
        long[] y = new long[shifted.length];
        for (int i = 0; i < y.length; i++) y[i] = (long) shifted[i] + zp;
        return new Value[] {Value.longs(DataType.UINT8, y, x.shape), Value.floats(new float[] {sz[0]}), Value.scalarLong(DataType.UINT8, zp)};
    }

    private static Op.Compiled matmulInteger(Node n) {
        n.requireInputs(2, 4);
        n.requireType(0, "A", DataType.UINT8, DataType.INT8);
        n.requireType(1, "B", DataType.UINT8, DataType.INT8);
        String label = n.label();
        int[] a = n.dims(0), b = n.dims(1), out = null;
        if (a != null && b != null && a.length >= 2 && b.length == 2) {
            out = a.clone();
            out[a.length - 1] = b[1];
        }
        return new Op.Compiled(in -> new Value[] {matmulInteger(label, in[0], in[1], in.length > 2 ? in[2] : null, in.length > 3 ? in[3] : null, false)},
                new Op.Type[] {new Op.Type(DataType.INT32, out)});
    }

    /**
     * (A - a_zp) x (B - b_zp) as int32 (or as FLOAT when {@code asFloat}, which the fused MatMulInteger + Cast uses).
     * a_zp is a scalar or one per row of A; b_zp a scalar or one per column of B.
     */
    static Value matmulInteger(String label, Value a, Value b, Value azp, Value bzp, boolean asFloat) {
        Value af = shifted(label, a, azp, a.rank() - 2, "a_zero_point");
        Value bf = shifted(label, b, bzp, b.rank() - 1, "b_zero_point");
        Value r = MathOps.matmul(label, af, bf);
        if (asFloat) return r;
        long[] o = new long[r.numel()];
        for (int i = 0; i < o.length; i++) o[i] = (int) Math.rint(r.f[i]);
        return Value.longs(DataType.INT32, o, r.shape);
    }

    /** x - zp as floats; zp is a scalar or a 1-D tensor along {@code axis} of x (rows of A, columns of B). */
    static Value shifted(String label, Value x, Value zp, int axis, String what) {
        float[] o = new float[x.numel()];
        if (zp == null || zp.numel() == 1) {
            long z = zp == null ? 0 : zp.l[0];
            for (int i = 0; i < o.length; i++) o[i] = x.l[i] - z;
        } else {
            if (zp.rank() != 1 || axis < 0 || zp.shape[0] != x.shape[axis])
                throw new IllegalArgumentException("onnx: " + label + ": " + what + " " + zp + " does not match axis " + axis + " of " + x);
            int inner = 1;
            for (int i = axis + 1; i < x.rank(); i++) inner *= x.shape[i];
            int dim = x.shape[axis];
            for (int i = 0; i < o.length; i++) o[i] = x.l[i] - zp.l[(i / inner) % dim];
        }
        return Value.floats(o, x.shape);
    }

    private static Op.Compiled quantize(Node n) {
        n.requireInputs(2, 3);
        n.requireType(0, "x", DataType.FLOAT, DataType.INT32);
        DataType out = n.has(2) ? n.dtype(2) : DataType.UINT8;
        if (out != DataType.UINT8 && out != DataType.INT8) throw n.unsupported("y_zero_point of type " + out + " is not supported");
        long axisAttr = n.attrInt("axis", 1);
        String label = n.label();
        return new Op.Compiled(in -> {
            Value x = in[0];
            Axis a = Axis.of(label, x, in, axisAttr);
            long lo = out == DataType.UINT8 ? 0 : -128, hi = out == DataType.UINT8 ? 255 : 127;
            long[] y = new long[x.numel()];
            for (int i = 0; i < y.length; i++) {
                int c = a.channel(i);
                y[i] = (long) Math.clamp(Math.rint(x.getDouble(i) / a.scale[c]) + a.zeroPoint(c), lo, hi);
            }
            return new Value[] {Value.longs(out, y, x.shape)};
        }, new Op.Type[] {new Op.Type(out, n.dims(0))});
    }

    private static Op.Compiled dequantize(Node n) {
        n.requireInputs(2, 3);
        n.requireType(0, "x", DataType.UINT8, DataType.INT8, DataType.INT32);
        long axisAttr = n.attrInt("axis", 1);
        String label = n.label();
        return new Op.Compiled(in -> {
            Value x = in[0];
            Axis a = Axis.of(label, x, in, axisAttr);
            float[] y = new float[x.numel()];
            for (int i = 0; i < y.length; i++) {
                int c = a.channel(i);
                y[i] = (x.l[i] - a.zeroPoint(c)) * a.scale[c];
            }
            return new Value[] {Value.floats(y, x.shape)};
        }, new Op.Type[] {new Op.Type(DataType.FLOAT, n.dims(0))});
    }

    /**
     * The scale and zero point of QuantizeLinear/DequantizeLinear: one for the whole tensor, or one per index of
     * {@code axis} (elements {@code inner} apart share one).
     */
    private record Axis(float[] scale, long[] zp, int inner) {
        static Axis of(String label, Value x, Value[] in, long axisAttr) {
            Value scale = in[1];
            long[] zp = in.length > 2 && in[2] != null ? in[2].l : new long[] {0};
            if (scale.numel() == 1) return new Axis(new float[] {scale.f[0]}, zp, 1);
            int axis = Node.axis(label, axisAttr, x.rank()), inner = 1;
            if (scale.rank() != 1 || scale.shape[0] != x.shape[axis])
                throw new IllegalArgumentException("onnx: " + label + ": scale " + scale + " does not match axis " + axis + " of x " + Arrays.toString(x.shape));
            for (int i = axis + 1; i < x.rank(); i++) inner *= x.shape[i];
            return new Axis(scale.f, zp, inner);
        }

        /** The scale index of element i. */
        int channel(int i) {
            return scale.length == 1 ? 0 : (i / inner) % scale.length;
        }

        long zeroPoint(int c) {
            return zp[zp.length == 1 ? 0 : c];
        }
    }
}
