package dev.kindling.onnx;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.PackedMatrix;
import dev.kindling.kernels.Norms;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Softmax;
import java.util.Arrays;

/** MatMul, Gemm, Softmax, LogSoftmax, the Reduce family and LayerNormalization. FLOAT matmuls run on {@link Gemm}. */
final class MathOps {
    private MathOps() {}

    static Op.Compiled compile(Node n) {
        return switch (n.op()) {
            case "MatMul" -> matmul(n);
            case "Gemm" -> gemm(n);
            case "Softmax", "LogSoftmax" -> softmax(n, n.op().equals("LogSoftmax"));
            case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2" -> reduce(n);
            case "LayerNormalization" -> layerNorm(n);
            default -> null;
        };
    }

    private static final DataType[] MATMUL_TYPES = {DataType.FLOAT, DataType.DOUBLE, DataType.INT32, DataType.INT64, DataType.UINT32, DataType.UINT64};

    private static Op.Compiled matmul(Node n) {
        n.requireInputs(2, 2);
        n.requireType(0, "A", MATMUL_TYPES);
        if (n.dtype(1) != n.dtype(0)) throw n.fail("A is " + n.dtype(0) + " but B is " + n.dtype(1));
        String label = n.label();
        int[] a = n.dims(0), b = n.dims(1), out = null;
        if (a != null && b != null && a.length >= 2 && b.length >= 2) {
            int ka = a[a.length - 1], kb = b[b.length - 2];
            if (ka >= 0 && kb >= 0 && ka != kb) throw n.fail("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not align (" + ka + " vs " + kb + ")");
            int[] batch = Broadcast.inferShape(Arrays.copyOf(a, a.length - 2), Arrays.copyOf(b, b.length - 2));
            out = Arrays.copyOf(batch, batch.length + 2);
            out[batch.length] = a[a.length - 2];
            out[batch.length + 1] = b[b.length - 1];
        }
        return new Op.Compiled(in -> new Value[] {matmul(label, in[0], in[1])}, new Op.Type[] {new Op.Type(n.dtype(0), out)});
    }

    /** numpy.matmul: 1-D operands are promoted and the added dimension removed; batch dimensions broadcast. */
    static Value matmul(String label, Value a, Value b) {
        int[] as = a.shape, bs = b.shape;
        if (as.length == 0 || bs.length == 0) throw new IllegalArgumentException("onnx: " + label + ": scalar operand");
        boolean vecA = as.length == 1, vecB = bs.length == 1;
        if (vecA) as = new int[] {1, as[0]};
        if (vecB) bs = new int[] {bs[0], 1};
        int m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], nn = bs[bs.length - 1];
        if (k != k2) throw new IllegalArgumentException("onnx: " + label + ": shapes " + Arrays.toString(a.shape) + " and " + Arrays.toString(b.shape) + " do not align (" + k + " vs " + k2 + ")");
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Broadcast.shape(label, batchA, batchB);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = nn;
        Value out = Value.zeros(a.type, outShape);
        int nb = Value.numel(batch);
        int[] offA = new int[nb], offB = new int[nb];
        int[] i = {0};
        Broadcast.walk(batch, new int[][] {batchA, batchB}, (o, off, st, len) -> {
            for (int j = 0; j < len; j++) {
                offA[o + j] = (off[0] + j * st[0]) * m * k;
                offB[o + j] = (off[1] + j * st[1]) * k * nn;
            }
        });
        if (a.f != null) {
            boolean sameB = true;
            for (int j = 1; j < nb && sameB; j++) sameB = offB[j] == offB[0];
            if (nb > 0 && sameB && isRowRun(offA, m * k)) {
                Gemm.sgemm(false, false, nb * m, nn, k, 1f, a.f, offA[0], k, b.f, offB[0], nn, 0f, out.f, 0, nn);
            } else if (nb > 0 && isRowRun(offA, m * k) && isRowRun(offB, k * nn)) {
                Gemm.sgemmBatched(nb, false, false, m, nn, k, 1f, a.f, offA[0], k, (long) m * k, b.f, offB[0], nn, (long) k * nn,
                        0f, out.f, 0, nn, (long) m * nn);
            } else {
                for (int j = 0; j < nb; j++)
                    Gemm.sgemm(false, false, m, nn, k, 1f, a.f, offA[j], k, b.f, offB[j], nn, 0f, out.f, j * m * nn, nn);
            }
        } else {
            for (int j = 0; j < nb; j++)
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < nn; c++) {
                        int o = j * m * nn + r * nn + c;
                        if (a.d != null) {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += a.d[offA[j] + r * k + p] * b.d[offB[j] + p * nn + c];
                            out.d[o] = s;
                        } else {
                            long s = 0;
                            for (int p = 0; p < k; p++) s += a.l[offA[j] + r * k + p] * b.l[offB[j] + p * nn + c];
                            out.l[o] = a.type.wrap(s);
                        }
                    }
        }
        int[] finalShape = outShape;
        if (vecA && vecB) finalShape = batch;
        else if (vecA) finalShape = remove(outShape, outShape.length - 2);
        else if (vecB) finalShape = remove(outShape, outShape.length - 1);
        return out.reshape(finalShape);
    }

    private static boolean isRowRun(int[] off, int step) {
        for (int j = 0; j < off.length; j++) if (off[j] != off[0] + j * step) return false;
        return true;
    }

    private static int[] remove(int[] s, int i) {
        int[] o = new int[s.length - 1];
        System.arraycopy(s, 0, o, 0, i);
        System.arraycopy(s, i + 1, o, i, s.length - i - 1);
        return o;
    }

    private static Op.Compiled gemm(Node n) {
        n.requireInputs(2, 3);
        n.requireType(0, "A", DataType.FLOAT, DataType.DOUBLE);
        for (int i = 1; i < n.inputs(); i++) if (n.has(i) && n.dtype(i) != n.dtype(0)) throw n.fail("input " + i + " is " + n.dtype(i) + " but A is " + n.dtype(0));
        float alpha = n.attrFloat("alpha", 1f), beta = n.attrFloat("beta", 1f);
        boolean ta = n.attrInt("transA", 0) != 0, tb = n.attrInt("transB", 0) != 0;
        String label = n.label();
        // a constant FLOAT B (a layer's weight) is packed into GEMM panels once, at load
        Value constB = n.constants[1];
        PackedMatrix packed = !ta && constB != null && constB.f != null && constB.rank() == 2
                ? PackedMatrix.of(tb, tb ? constB.shape[1] : constB.shape[0], tb ? constB.shape[0] : constB.shape[1], constB.f, 0, constB.shape[1])
                : null;
        return new Op.Compiled(in -> {
            Value a = in[0], b = in[1], c = in.length > 2 ? in[2] : null;
            if (a.rank() != 2 || b.rank() != 2) throw new IllegalArgumentException("onnx: " + label + ": A and B must be 2-D, got " + a + " and " + b);
            int m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
            int kb = tb ? b.shape[1] : b.shape[0], nn = tb ? b.shape[0] : b.shape[1];
            if (k != kb) throw new IllegalArgumentException("onnx: " + label + ": op(A) is " + m + " x " + k + " but op(B) is " + kb + " x " + nn);
            Value out = Value.zeros(a.type, m, nn);
            if (c != null && beta != 0) {
                Broadcast.shape(label, c.shape, out.shape); // C broadcasts to [M, N]
                if (Broadcast.shape(label, c.shape, out.shape).length != 2 || !Arrays.equals(Broadcast.shape(label, c.shape, out.shape), out.shape))
                    throw new IllegalArgumentException("onnx: " + label + ": C " + c + " does not broadcast to [" + m + ", " + nn + "]");
                Broadcast.walk(out.shape, new int[][] {c.shape}, (o, off, st, len) -> {
                    for (int j = 0; j < len; j++) {
                        if (out.f != null) out.f[o + j] = beta * c.f[off[0] + j * st[0]];
                        else out.d[o + j] = beta * c.d[off[0] + j * st[0]];
                    }
                });
            }
            float betaC = c != null && beta != 0 ? 1f : 0f;
            if (a.f != null && packed != null) {
                Gemm.sgemmPacked(m, alpha, a.f, 0, a.shape[1], packed, betaC, out.f, 0, nn);
            } else if (a.f != null) {
                Gemm.sgemm(ta, tb, m, nn, k, alpha, a.f, 0, a.shape[1], b.f, 0, b.shape[1], betaC, out.f, 0, nn);
            } else {
                for (int r = 0; r < m; r++)
                    for (int col = 0; col < nn; col++) {
                        double s = 0;
                        for (int p = 0; p < k; p++)
                            s += a.d[ta ? p * m + r : r * k + p] * b.d[tb ? col * k + p : p * nn + col];
                        out.d[r * nn + col] += alpha * s;
                    }
            }
            return new Value[] {out};
        }, new Op.Type[] {new Op.Type(n.dtype(0), new int[] {-1, -1})});
    }

    private static Op.Compiled softmax(Node n, boolean log) {
        n.requireInputs(1, 1);
        n.requireType(0, "input", DataType.FLOAT);
        boolean legacy = n.opset < 13;
        long axisAttr = n.attrInt("axis", legacy ? 1 : -1);
        String label = n.label();
        return new Op.Compiled(in -> {
            Value x = in[0];
            int[] s = x.shape;
            int axis = Node.axis(label, axisAttr, s.length);
            int outer = 1, len, inner = 1;
            if (legacy) { // coerced to 2-D [prod(s[:axis]), prod(s[axis:])]
                for (int i = 0; i < axis; i++) outer *= s[i];
                len = outer == 0 ? 0 : x.numel() / outer;
            } else {
                for (int i = 0; i < axis; i++) outer *= s[i];
                len = s[axis];
                for (int i = axis + 1; i < s.length; i++) inner *= s[i];
            }
            float[] o = new float[x.numel()];
            int rows = outer, n2 = len, in2 = inner;
            if (n2 > 0) Parallel.forRange(rows * in2, 4L * n2, (from, to) -> {
                float[] tmp = in2 == 1 ? null : new float[n2];
                for (int r = from; r < to; r++) {
                    int base = (r / in2) * n2 * in2 + r % in2;
                    if (in2 == 1) {
                        if (log) Softmax.logSoftmax(x.f, base, o, base, n2);
                        else Softmax.softmax(x.f, base, o, base, n2);
                    } else {
                        for (int j = 0; j < n2; j++) tmp[j] = x.f[base + j * in2];
                        if (log) Softmax.logSoftmax(tmp, 0, tmp, 0, n2);
                        else Softmax.softmax(tmp, 0, tmp, 0, n2);
                        for (int j = 0; j < n2; j++) o[base + j * in2] = tmp[j];
                    }
                }
            });
            return new Value[] {Value.floats(o, s)};
        }, new Op.Type[] {n.types[0]});
    }

    private static Op.Compiled reduce(Node n) {
        String op = n.op();
        long axesInputSince = op.equals("ReduceSum") ? 13 : 18;
        boolean fromInput = n.opset >= axesInputSince;
        n.requireInputs(1, fromInput ? 2 : 1);
        n.requireType(0, "input", ElementwiseOps.NUMERIC);
        boolean keep = n.attrInt("keepdims", 1) != 0, noopEmpty = n.attrInt("noop_with_empty_axes", 0) != 0;
        long[] attrAxes = n.attrInts("axes");
        String label = n.label();
        return new Op.Compiled(in -> {
            long[] axes = fromInput ? (in.length > 1 && in[1] != null ? in[1].longs(label + ": axes") : null) : attrAxes;
            if ((axes == null || axes.length == 0) && noopEmpty) return new Value[] {in[0]};
            return new Value[] {reduce(label, op, in[0], axes, keep)};
        }, new Op.Type[] {new Op.Type(n.dtype(0), null)});
    }

    static Value reduce(String label, String op, Value x, long[] axes, boolean keep) {
        int[] s = x.shape;
        boolean[] red = new boolean[s.length];
        if (axes == null || axes.length == 0) Arrays.fill(red, true);
        else for (long a : axes) red[Node.axis(label, a, s.length)] = true;
        int[] kept = new int[s.length];
        int count = 1;
        for (int i = 0; i < s.length; i++) {
            kept[i] = red[i] ? 1 : s[i];
            if (red[i]) count *= s[i];
        }
        int outN = Value.numel(kept);
        double[] acc = new double[outN];
        long[] lacc = new long[outN];
        boolean integer = x.l != null;
        double init = switch (op) {
            case "ReduceMax" -> Double.NEGATIVE_INFINITY;
            case "ReduceMin" -> Double.POSITIVE_INFINITY;
            case "ReduceProd" -> 1;
            default -> 0;
        };
        Arrays.fill(acc, init);
        if (integer) Arrays.fill(lacc, op.equals("ReduceMax") ? Long.MIN_VALUE : op.equals("ReduceMin") ? Long.MAX_VALUE : op.equals("ReduceProd") ? 1 : 0);
        // the walk visits x in row-major order; the output offset uses stride 0 on reduced axes
        int[] ost = Value.strides(kept);
        for (int i = 0; i < s.length; i++) if (red[i]) ost[i] = 0;
        Broadcast.walkStrided(s, new int[][] {ost}, new int[1], (o, off, st, len) -> {
            for (int j = 0; j < len; j++) {
                int t = off[0] + j * st[0];
                if (integer) {
                    long v = x.l[o + j];
                    lacc[t] = switch (op) {
                        case "ReduceMax" -> Math.max(lacc[t], v);
                        case "ReduceMin" -> Math.min(lacc[t], v);
                        case "ReduceProd" -> lacc[t] * v;
                        case "ReduceSumSquare" -> lacc[t] + v * v;
                        case "ReduceL1" -> lacc[t] + Math.abs(v);
                        default -> lacc[t] + v;
                    };
                } else {
                    double v = x.getDouble(o + j);
                    acc[t] = switch (op) {
                        case "ReduceMax" -> v != v || acc[t] != acc[t] ? Double.NaN : Math.max(acc[t], v);
                        case "ReduceMin" -> v != v || acc[t] != acc[t] ? Double.NaN : Math.min(acc[t], v);
                        case "ReduceProd" -> acc[t] * v;
                        case "ReduceSumSquare", "ReduceL2" -> acc[t] + v * v;
                        case "ReduceL1" -> acc[t] + Math.abs(v);
                        default -> acc[t] + v;
                    };
                }
            }
        });
        int[] outShape = kept;
        if (!keep) {
            int r = 0;
            for (boolean b : red) if (!b) r++;
            outShape = new int[r];
            for (int i = 0, j = 0; i < s.length; i++) if (!red[i]) outShape[j++] = s[i];
        }
        Value out = Value.zeros(x.type, outShape);
        for (int t = 0; t < outN; t++) {
            if (integer) {
                long v = lacc[t];
                if (op.equals("ReduceMean")) v = count == 0 ? 0 : v / count;
                if (op.equals("ReduceL2")) v = (long) Math.sqrt((double) v);
                out.l[t] = x.type.wrap(v);
            } else {
                double v = acc[t];
                if (op.equals("ReduceMean")) v /= count;
                if (op.equals("ReduceL2")) v = Math.sqrt(v);
                if (out.f != null) out.f[t] = (float) v;
                else out.d[t] = v;
            }
        }
        return out;
    }

    private static Op.Compiled layerNorm(Node n) {
        n.requireInputs(2, 3);
        n.requireType(0, "X", DataType.FLOAT);
        n.requireType(1, "Scale", DataType.FLOAT);
        long axisAttr = n.attrInt("axis", -1);
        float eps = n.attrFloat("epsilon", 1e-5f);
        String label = n.label();
        boolean wantMean = n.wants(1), wantInv = n.wants(2);
        Op.Type[] out = {n.types[0], new Op.Type(DataType.FLOAT, null), new Op.Type(DataType.FLOAT, null)};
        Op.Consuming op = new Op.Consuming() {
            @Override
            public Value[] run(Value[] in) {
                return forward(in, false);
            }

            @Override
            public Value[] runConsuming(Value[] in) {
                return forward(in, true); // each row's statistics are taken before the row is written
            }

            private Value[] forward(Value[] in, boolean overwrite) {
                Value x = in[0];
                int axis = Node.axis(label, axisAttr, x.rank());
                int rows = 1;
                for (int i = 0; i < axis; i++) rows *= x.shape[i];
                int len = rows == 0 ? 0 : x.numel() / rows;
                int[] normShape = Arrays.copyOfRange(x.shape, axis, x.rank());
                float[] w = expandTo(label, in[1], normShape), b = in.length > 2 && in[2] != null ? expandTo(label, in[2], normShape) : null;
                float[] y = overwrite ? x.f : new float[x.numel()], mean = new float[rows], rstd = new float[rows];
                if (len > 0) Norms.layerNormForward(x.f, 0, y, 0, rows, len, w, b, eps, mean, rstd);
                int[] statShape = x.shape.clone();
                for (int i = axis; i < statShape.length; i++) statShape[i] = 1;
                Value[] res = new Value[Math.max(1, (wantInv ? 3 : wantMean ? 2 : 1))];
                res[0] = Value.floats(y, x.shape);
                if (res.length > 1) res[1] = Value.floats(mean, statShape);
                if (res.length > 2) res[2] = Value.floats(rstd, statShape);
                return res;
            }
        };
        return new Op.Compiled(op, Arrays.copyOf(out, n.outputs()));
    }

    /** A scale or bias broadcast to the normalized shape, as a flat array. */
    private static float[] expandTo(String label, Value v, int[] shape) {
        if (Arrays.equals(v.shape, shape) || (v.numel() == Value.numel(shape) && v.rank() <= shape.length)) return v.f;
        int[] s = Broadcast.shape(label, v.shape, shape);
        if (!Arrays.equals(s, shape)) throw new IllegalArgumentException("onnx: " + label + ": " + v + " does not broadcast to " + Arrays.toString(shape));
        float[] o = new float[Value.numel(shape)];
        Broadcast.walk(shape, new int[][] {v.shape}, (out, off, st, len) -> {
            for (int j = 0; j < len; j++) o[out + j] = v.f[off[0] + j * st[0]];
        });
        return o;
    }
}
