package dev.kindling.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Ops that move or index data without arithmetic: Identity, Constant, Shape, Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose, Concat, Slice, Split, Gather, Expand, ConstantOfShape, Range. Reshape-like ops return views (same
 * arrays); the others copy with {@link Broadcast#copy} or {@link System#arraycopy}. Axes and shapes that opset 13
 * (or 18) moved from attributes to inputs are read from wherever the model's opset puts them.
 */
final class ShapeOps {
    private ShapeOps() {}

    static Op.Compiled compile(Node n) {
        return switch (n.op()) {
            case "Identity" -> {
                n.requireInputs(1, 1);
                yield new Op.Compiled(in -> new Value[] {in[0]}, new Op.Type[] {n.types[0]});
            }
            case "Constant" -> constant(n);
            case "Shape" -> shape(n);
            case "Size" -> {
                n.requireInputs(1, 1);
                yield new Op.Compiled(in -> new Value[] {Value.longs(DataType.INT64, new long[] {in[0].numel()})},
                        new Op.Type[] {new Op.Type(DataType.INT64, new int[0])});
            }
            case "Reshape" -> reshape(n);
            case "Flatten" -> flatten(n);
            case "Squeeze" -> squeeze(n);
            case "Unsqueeze" -> unsqueeze(n);
            case "Transpose" -> transpose(n);
            case "Concat" -> concat(n);
            case "Slice" -> slice(n);
            case "Split" -> split(n);
            case "Gather" -> gather(n);
            case "Expand" -> expand(n);
            case "ConstantOfShape" -> constantOfShape(n);
            case "Range" -> range(n);
            default -> null;
        };
    }

    private static Op.Compiled constant(Node n) {
        n.requireInputs(0, 0);
        Value v;
        if (n.hasAttr("value")) v = n.attrTensor("value");
        else if (n.hasAttr("value_float")) v = Value.floats(new float[] {n.attrFloat("value_float", 0)});
        else if (n.hasAttr("value_floats")) {
            float[] f = n.proto.attributes().get("value_floats").floats();
            v = Value.floats(f, f.length);
        } else if (n.hasAttr("value_int")) v = Value.scalarLong(DataType.INT64, n.attrInt("value_int", 0));
        else if (n.hasAttr("value_ints")) {
            long[] a = n.attrInts("value_ints");
            v = Value.longs(DataType.INT64, a, a.length);
        } else throw n.unsupported("only value, value_float(s) and value_int(s) are supported (attributes " + n.proto.attributes().keySet() + ")");
        Value c = v;
        return new Op.Compiled(in -> new Value[] {c}, new Op.Type[] {Op.Type.of(c)});
    }

    private static Op.Compiled shape(Node n) {
        n.requireInputs(1, 1);
        long startAttr = n.attrInt("start", 0);
        Long endAttr = n.hasAttr("end") ? n.attrInt("end", 0) : null;
        String label = n.label();
        int[] d = n.dims(0);
        int len = d == null ? -1 : range(d.length, startAttr, endAttr)[1] - range(d.length, startAttr, endAttr)[0];
        return new Op.Compiled(in -> {
            int[] s = in[0].shape, r = range(s.length, startAttr, endAttr);
            long[] o = new long[Math.max(0, r[1] - r[0])];
            for (int i = 0; i < o.length; i++) o[i] = s[r[0] + i];
            return new Value[] {Value.longs(DataType.INT64, o, o.length)};
        }, new Op.Type[] {new Op.Type(DataType.INT64, new int[] {Math.max(len, -1)})});
    }

    /** Shape's [start, end) clamped to [0, rank]. */
    private static int[] range(int rank, long start, Long end) {
        long s = start < 0 ? start + rank : start, e = end == null ? rank : end < 0 ? end + rank : end;
        s = Math.clamp(s, 0, rank);
        e = Math.clamp(e, 0, rank);
        return new int[] {(int) s, (int) Math.max(s, e)};
    }

    private static Op.Compiled reshape(Node n) {
        n.requireInputs(n.opset < 5 ? 1 : 2, n.opset < 5 ? 1 : 2);
        boolean allowZero = n.attrInt("allowzero", 0) != 0;
        String label = n.label();
        Value constShape = n.opset < 5 ? Value.longs(DataType.INT64, n.attrInts("shape"), n.attrInts("shape").length) : n.constants[1];
        int[] dims = null;
        if (constShape != null && n.dims(0) != null) {
            long[] s = constShape.longs(label + ": shape");
            dims = new int[s.length];
            boolean known = Arrays.stream(n.dims(0)).allMatch(x -> x >= 0);
            for (int i = 0; i < s.length; i++) dims[i] = s[i] == 0 && !allowZero && i < n.dims(0).length ? n.dims(0)[i] : (int) s[i];
            if (!known || Arrays.stream(dims).anyMatch(x -> x < 0)) {
                if (known) dims = resolve(label, n.dims(0), s, allowZero);
                else for (int i = 0; i < dims.length; i++) if (dims[i] < 0) dims[i] = -1;
            }
        }
        return new Op.Compiled(in -> {
            Value shape = n.opset < 5 ? constShape : in[1];
            return new Value[] {in[0].reshape(resolve(label, in[0].shape, shape.longs(label + ": shape"), allowZero))};
        }, new Op.Type[] {new Op.Type(n.dtype(0), dims)});
    }

    /** Reshape's target: 0 copies the input's dimension (unless allowzero), one -1 is inferred. */
    static int[] resolve(String label, int[] in, long[] spec, boolean allowZero) {
        int[] out = new int[spec.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < spec.length; i++) {
            long s = spec[i];
            if (s == -1) {
                if (infer >= 0) throw new IllegalArgumentException("onnx: " + label + ": shape " + Arrays.toString(spec) + " has more than one -1");
                infer = i;
                continue;
            }
            if (s == 0 && !allowZero) {
                if (i >= in.length) throw new IllegalArgumentException("onnx: " + label + ": shape " + Arrays.toString(spec) + " copies dimension " + i + " of input shape " + Arrays.toString(in));
                s = in[i];
            }
            if (s < 0 || s > Integer.MAX_VALUE) throw new IllegalArgumentException("onnx: " + label + ": invalid dimension " + spec[i] + " in shape " + Arrays.toString(spec));
            out[i] = (int) s;
            known *= s;
        }
        long total = Value.numel(in);
        if (infer >= 0) {
            if (known == 0 || total % known != 0)
                throw new IllegalArgumentException("onnx: " + label + ": cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(spec));
            out[infer] = (int) (total / known);
        } else if (known != total) {
            throw new IllegalArgumentException("onnx: " + label + ": cannot reshape " + Arrays.toString(in) + " (" + total + " elements) to " + Arrays.toString(spec));
        }
        return out;
    }

    private static Op.Compiled flatten(Node n) {
        n.requireInputs(1, 1);
        long axisAttr = n.attrInt("axis", 1);
        String label = n.label();
        return new Op.Compiled(in -> {
            int[] s = in[0].shape;
            int axis = axisAttr == s.length ? s.length : Node.axis(label, axisAttr, s.length);
            long outer = 1;
            for (int i = 0; i < axis; i++) outer *= s[i];
            return new Value[] {in[0].reshape((int) outer, in[0].numel() / (int) Math.max(1, outer == 0 ? 1 : outer))};
        }, new Op.Type[] {new Op.Type(n.dtype(0), new int[] {-1, -1})});
    }

    /** Axes from the attribute (before opset 13) or the optional second input. */
    private static long[] axes(Node n, Value[] in, int sinceOpset) {
        if (n.opset < sinceOpset) return n.attrInts("axes");
        return in.length > 1 && in[1] != null ? in[1].longs(n.label() + ": axes") : null;
    }

    private static Op.Compiled squeeze(Node n) {
        n.requireInputs(1, n.opset < 13 ? 1 : 2);
        String label = n.label();
        return new Op.Compiled(in -> {
            int[] s = in[0].shape;
            long[] ax = axes(n, in, 13);
            boolean[] drop = new boolean[s.length];
            if (ax == null) for (int i = 0; i < s.length; i++) drop[i] = s[i] == 1;
            else for (long a : ax) {
                int i = Node.axis(label, a, s.length);
                if (s[i] != 1) throw new IllegalArgumentException("onnx: " + label + ": cannot squeeze axis " + a + " of size " + s[i] + " in shape " + Arrays.toString(s));
                drop[i] = true;
            }
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < s.length; i++) if (!drop[i]) out.add(s[i]);
            return new Value[] {in[0].reshape(out.stream().mapToInt(Integer::intValue).toArray())};
        }, new Op.Type[] {new Op.Type(n.dtype(0), null)});
    }

    private static Op.Compiled unsqueeze(Node n) {
        n.requireInputs(1, n.opset < 13 ? 1 : 2);
        String label = n.label();
        return new Op.Compiled(in -> {
            int[] s = in[0].shape;
            long[] ax = axes(n, in, 13);
            if (ax == null) throw new IllegalArgumentException("onnx: " + label + ": axes are required");
            int rank = s.length + ax.length;
            boolean[] add = new boolean[rank];
            for (long a : ax) {
                int i = Node.axis(label, a, rank);
                if (add[i]) throw new IllegalArgumentException("onnx: " + label + ": axis " + a + " is repeated in " + Arrays.toString(ax));
                add[i] = true;
            }
            int[] out = new int[rank];
            for (int i = 0, j = 0; i < rank; i++) out[i] = add[i] ? 1 : s[j++];
            return new Value[] {in[0].reshape(out)};
        }, new Op.Type[] {new Op.Type(n.dtype(0), null)});
    }

    private static Op.Compiled transpose(Node n) {
        n.requireInputs(1, 1);
        long[] permAttr = n.attrInts("perm");
        String label = n.label();
        int[] d = n.dims(0);
        int[] outDims = null;
        if (d != null) {
            int[] p = perm(label, permAttr, d.length);
            outDims = new int[d.length];
            for (int i = 0; i < d.length; i++) outDims[i] = d[p[i]];
        }
        return new Op.Compiled(in -> new Value[] {transpose(in[0], perm(label, permAttr, in[0].rank()))}, new Op.Type[] {new Op.Type(n.dtype(0), outDims)});
    }

    static int[] perm(String label, long[] attr, int rank) {
        int[] p = new int[rank];
        if (attr == null) {
            for (int i = 0; i < rank; i++) p[i] = rank - 1 - i;
            return p;
        }
        if (attr.length != rank) throw new IllegalArgumentException("onnx: " + label + ": perm " + Arrays.toString(attr) + " has " + attr.length + " entries for rank " + rank);
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            int a = Node.axis(label, attr[i], rank);
            if (seen[a]) throw new IllegalArgumentException("onnx: " + label + ": perm " + Arrays.toString(attr) + " repeats axis " + a);
            seen[a] = true;
            p[i] = a;
        }
        return p;
    }

    static Value transpose(Value x, int[] p) {
        int[] s = x.shape, st = Value.strides(s), out = new int[s.length], ost = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[p[i]];
            ost[i] = st[p[i]];
        }
        return Broadcast.copy(x, 0, out, ost);
    }

    private static Op.Compiled concat(Node n) {
        n.requireInputs(1, Integer.MAX_VALUE);
        for (int i = 1; i < n.inputs(); i++) if (n.dtype(i) != n.dtype(0)) throw n.fail("input " + i + " is " + n.dtype(i) + " but input 0 is " + n.dtype(0));
        if (!n.hasAttr("axis")) throw n.fail("attribute 'axis' is required");
        long axisAttr = n.attrInt("axis", 0);
        String label = n.label();
        return new Op.Compiled(in -> {
            int[] s0 = in[0].shape;
            int axis = Node.axis(label, axisAttr, s0.length);
            int[] out = s0.clone();
            out[axis] = 0;
            for (Value v : in) {
                if (v.rank() != s0.length) throw new IllegalArgumentException("onnx: " + label + ": inputs of ranks " + s0.length + " and " + v.rank());
                for (int i = 0; i < s0.length; i++)
                    if (i != axis && v.shape[i] != s0[i]) throw new IllegalArgumentException("onnx: " + label + ": shapes " + Arrays.toString(s0) + " and " + Arrays.toString(v.shape) + " differ outside axis " + axis);
                out[axis] += v.shape[axis];
            }
            Value o = Value.zeros(in[0].type, out);
            int outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= out[i];
            for (int i = axis + 1; i < out.length; i++) inner *= out[i];
            int row = out[axis] * inner, at = 0;
            for (Value v : in) {
                int block = v.shape[axis] * inner;
                for (int r = 0; r < outer; r++) System.arraycopy(data(v), r * block, data(o), r * row + at, block);
                at += block;
            }
            return new Value[] {o};
        }, new Op.Type[] {new Op.Type(n.dtype(0), null)});
    }

    static Object data(Value v) {
        return v.f != null ? v.f : v.d != null ? v.d : v.l;
    }

    private static Op.Compiled slice(Node n) {
        boolean attrs = n.opset < 10;
        n.requireInputs(attrs ? 1 : 3, attrs ? 1 : 5);
        String label = n.label();
        return new Op.Compiled(in -> {
            long[] starts, ends, axes, steps = null;
            if (attrs) {
                starts = n.attrInts("starts");
                ends = n.attrInts("ends");
                axes = n.attrInts("axes");
            } else {
                starts = in[1].longs(label + ": starts");
                ends = in[2].longs(label + ": ends");
                axes = in.length > 3 && in[3] != null ? in[3].longs(label + ": axes") : null;
                steps = in.length > 4 && in[4] != null ? in[4].longs(label + ": steps") : null;
            }
            return new Value[] {slice(label, in[0], starts, ends, axes, steps)};
        }, new Op.Type[] {new Op.Type(n.dtype(0), n.dims(0) == null ? null : filled(n.dims(0).length))});
    }

    private static int[] filled(int rank) {
        int[] a = new int[rank];
        Arrays.fill(a, -1);
        return a;
    }

    static Value slice(String label, Value x, long[] starts, long[] ends, long[] axes, long[] steps) {
        int[] s = x.shape, st = Value.strides(s);
        int rank = s.length;
        if (starts.length != ends.length || (axes != null && axes.length != starts.length) || (steps != null && steps.length != starts.length))
            throw new IllegalArgumentException("onnx: " + label + ": starts, ends, axes and steps have different lengths");
        int[] out = s.clone(), ost = st.clone();
        int offset = 0;
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < starts.length; i++) {
            int a = Node.axis(label, axes == null ? i : axes[i], rank);
            if (seen[a]) throw new IllegalArgumentException("onnx: " + label + ": axis " + a + " is sliced twice");
            seen[a] = true;
            long step = steps == null ? 1 : steps[i], dim = s[a];
            if (step == 0) throw new IllegalArgumentException("onnx: " + label + ": step 0 on axis " + a);
            long b = starts[i], e = ends[i];
            if (b < 0) b += dim;
            if (e < 0) e += dim;
            if (step > 0) {
                b = Math.clamp(b, 0, dim);
                e = Math.clamp(e, 0, dim);
            } else {
                b = Math.clamp(b, 0, dim - 1);
                e = Math.clamp(e, -1, dim - 1);
            }
            long len = step > 0 ? Math.max(0, (e - b + step - 1) / step) : Math.max(0, (b - e + (-step) - 1) / (-step));
            out[a] = (int) len;
            ost[a] = (int) (st[a] * step);
            if (len > 0) offset += (int) (b * st[a]);
        }
        return Broadcast.copy(x, offset, out, ost);
    }

    private static Op.Compiled split(Node n) {
        n.requireInputs(1, n.opset < 13 ? 1 : 2);
        long axisAttr = n.attrInt("axis", 0);
        String label = n.label();
        int outputs = n.outputs();
        long numOutputs = n.attrInt("num_outputs", 0);
        return new Op.Compiled(in -> {
            Value x = in[0];
            int axis = Node.axis(label, axisAttr, x.rank()), dim = x.shape[axis];
            long[] sizes = n.opset < 13 ? n.attrInts("split") : in.length > 1 && in[1] != null ? in[1].longs(label + ": split") : null;
            if (sizes == null) {
                int parts = numOutputs > 0 ? (int) numOutputs : outputs;
                int chunk = (dim + parts - 1) / parts;
                if (numOutputs == 0 && dim % parts != 0)
                    throw new IllegalArgumentException("onnx: " + label + ": axis " + axis + " of size " + dim + " does not split into " + parts + " equal parts");
                sizes = new long[parts];
                for (int i = 0; i < parts; i++) sizes[i] = Math.max(0, Math.min(chunk, dim - (long) i * chunk));
            }
            if (sizes.length != outputs)
                throw new IllegalArgumentException("onnx: " + label + ": " + sizes.length + " split sizes for " + outputs + " outputs");
            long total = 0;
            for (long v : sizes) total += v;
            if (total != dim) throw new IllegalArgumentException("onnx: " + label + ": split sizes " + Arrays.toString(sizes) + " add up to " + total + ", not " + dim);
            Value[] out = new Value[outputs];
            long at = 0;
            for (int i = 0; i < outputs; i++) {
                out[i] = slice(label, x, new long[] {at}, new long[] {at + sizes[i]}, new long[] {axis}, null);
                at += sizes[i];
            }
            return out;
        }, Node.types(outputs, new Op.Type(n.dtype(0), null)));
    }

    private static Op.Compiled gather(Node n) {
        n.requireInputs(2, 2);
        n.requireType(1, "indices", DataType.INT32, DataType.INT64);
        long axisAttr = n.attrInt("axis", 0);
        String label = n.label();
        int[] outDims = null;
        if (n.dims(0) != null && n.dims(1) != null) {
            int[] d = n.dims(0), ix = n.dims(1);
            int axis = n.axis(axisAttr, d.length);
            outDims = new int[d.length - 1 + ix.length];
            System.arraycopy(d, 0, outDims, 0, axis);
            System.arraycopy(ix, 0, outDims, axis, ix.length);
            System.arraycopy(d, axis + 1, outDims, axis + ix.length, d.length - axis - 1);
        }
        return new Op.Compiled(in -> new Value[] {gather(label, in[0], in[1], axisAttr)}, new Op.Type[] {new Op.Type(n.dtype(0), outDims)});
    }

    static Value gather(String label, Value x, Value indices, long axisAttr) {
        int[] d = x.shape, ix = indices.shape;
        int axis = Node.axis(label, axisAttr, d.length), dim = d[axis];
        int[] out = new int[d.length - 1 + ix.length];
        System.arraycopy(d, 0, out, 0, axis);
        System.arraycopy(ix, 0, out, axis, ix.length);
        System.arraycopy(d, axis + 1, out, axis + ix.length, d.length - axis - 1);
        Value o = Value.zeros(x.type, out);
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= d[i];
        for (int i = axis + 1; i < d.length; i++) inner *= d[i];
        int m = indices.numel();
        Object src = data(x), dst = data(o);
        for (int j = 0; j < m; j++) {
            long k = indices.l[j];
            if (k < -dim || k >= dim)
                throw new IllegalArgumentException("onnx: " + label + ": index " + k + " is out of range for axis " + axis + " of size " + dim);
            if (k < 0) k += dim;
            for (int r = 0; r < outer; r++)
                System.arraycopy(src, (r * dim + (int) k) * inner, dst, (r * m + j) * inner, inner);
        }
        return o;
    }

    private static Op.Compiled expand(Node n) {
        n.requireInputs(2, 2);
        String label = n.label();
        return new Op.Compiled(in -> {
            Value x = in[0];
            long[] spec = in[1].longs(label + ": shape");
            int[] target = new int[spec.length];
            for (int i = 0; i < spec.length; i++) target[i] = (int) spec[i];
            int[] out = Broadcast.shape(label, x.shape, target);
            int[] st = new int[out.length], natural = Value.strides(x.shape);
            for (int i = 0; i < x.rank(); i++) {
                int o = out.length - x.rank() + i;
                st[o] = x.shape[i] == 1 ? 0 : natural[i];
            }
            return new Value[] {Broadcast.copy(x, 0, out, st)};
        }, new Op.Type[] {new Op.Type(n.dtype(0), null)});
    }

    private static Op.Compiled constantOfShape(Node n) {
        n.requireInputs(1, 1);
        Value fill = n.attrTensor("value");
        if (fill == null) fill = Value.floats(new float[] {0f}, 1);
        if (fill.numel() != 1) throw n.fail("value must hold one element, got " + fill);
        Value c = fill;
        String label = n.label();
        return new Op.Compiled(in -> {
            long[] spec = in[0].longs(label + ": input");
            int[] shape = new int[spec.length];
            for (int i = 0; i < spec.length; i++) {
                if (spec[i] < 0 || spec[i] > Integer.MAX_VALUE) throw new IllegalArgumentException("onnx: " + label + ": invalid dimension " + spec[i]);
                shape[i] = (int) spec[i];
            }
            Value o = Value.zeros(c.type, shape);
            if (o.f != null) Arrays.fill(o.f, c.f[0]);
            else if (o.d != null) Arrays.fill(o.d, c.d[0]);
            else Arrays.fill(o.l, c.l[0]);
            return new Value[] {o};
        }, new Op.Type[] {new Op.Type(c.type, null)});
    }

    private static Op.Compiled range(Node n) {
        n.requireInputs(3, 3);
        n.requireType(0, "start", DataType.FLOAT, DataType.DOUBLE, DataType.INT16, DataType.INT32, DataType.INT64);
        for (int i = 1; i < 3; i++) if (n.dtype(i) != n.dtype(0)) throw n.fail("input " + i + " is " + n.dtype(i) + " but start is " + n.dtype(0));
        String label = n.label();
        return new Op.Compiled(in -> {
            DataType t = in[0].type;
            if (t.isInteger()) {
                long start = in[0].l[0], limit = in[1].l[0], delta = in[2].l[0];
                if (delta == 0) throw new IllegalArgumentException("onnx: " + label + ": delta is 0");
                int count = (int) Math.max(0, Math.ceilDiv(limit - start, delta));
                long[] o = new long[count];
                for (int i = 0; i < count; i++) o[i] = t.wrap(start + i * delta);
                return new Value[] {Value.longs(t, o, count)};
            }
            double start = in[0].getDouble(0), limit = in[1].getDouble(0), delta = in[2].getDouble(0);
            if (delta == 0) throw new IllegalArgumentException("onnx: " + label + ": delta is 0");
            int count = (int) Math.max(0, Math.ceil((limit - start) / delta));
            if (t == DataType.DOUBLE) {
                double[] o = new double[count];
                for (int i = 0; i < count; i++) o[i] = start + i * delta;
                return new Value[] {Value.doubles(o, count)};
            }
            float[] o = new float[count];
            for (int i = 0; i < count; i++) o[i] = (float) (start + i * delta);
            return new Value[] {Value.floats(o, count)};
        }, new Op.Type[] {new Op.Type(n.dtype(0), new int[] {-1})});
    }
}
