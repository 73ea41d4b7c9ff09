package dev.kindling.tensor;

import dev.kindling.kernels.Elementwise;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Shape ops: views that share storage (with the gradient mapping back), and the copies cat/stack make. */
final class Views {
    private Views() {}

    private static Tensor view(Tensor t, int[] shape, int[] strides, int offset) {
        return new Tensor(t.dtype, t.data, shape, strides, offset);
    }

    /** Copies src's values (broadcast to dst's shape) into dst's storage, whatever both strides are. */
    static void copyInto(Tensor dst, Tensor src) {
        if (dst.dtype != DType.FLOAT32) throw new IllegalArgumentException("copyInto: destination must be FLOAT32, got " + dst.dtype);
        Tensor s = src.toFloat();
        int[] ss = Shapes.broadcastStrides(s.shape, s.strides, dst.shape);
        Loop loop = Loop.of(dst.shape, dst.strides, ss);
        float[] D = dst.f(), S = s.f();
        int sd = loop.innerStrides[0], sss = loop.innerStrides[1];
        loop.run(new int[] {dst.offset, s.offset}, 1, (offs, n) -> {
            if (sd == 1) Elementwise.copy(S, offs[1], sss, D, offs[0], n);
            else for (int i = 0; i < n; i++) D[offs[0] + i * sd] = S[offs[1] + i * sss];
        });
    }

    static Tensor contiguous(Tensor t) {
        if (t.isContiguous()) return t;
        Tensor out;
        if (t.dtype == DType.FLOAT32) {
            out = Tensor.zeros(t.shape);
            copyInto(out, t);
        } else {
            out = Storage.convert(t, t.dtype);
        }
        return Tensor.record(out, "contiguous", g -> new Tensor[] {g}, t);
    }

    static int[] inferShape(String op, int[] shape, int[] input) {
        int numel = Shapes.numel(input);
        int[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": only one dim can be -1 in " + Shapes.str(shape));
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException(op + ": invalid size " + s[i] + " in " + Shapes.str(shape));
            } else known *= s[i];
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0)
                throw new IllegalArgumentException(op + ": shape " + Shapes.str(shape) + " is invalid for input of shape "
                        + Shapes.str(input) + " (" + numel + " elements)");
            s[infer] = (int) (numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException(op + ": shape " + Shapes.str(shape) + " is invalid for input of shape "
                        + Shapes.str(input) + " (" + numel + " elements)");
        }
        return s;
    }

    /** Strides for viewing t as newShape without a copy, or null when impossible (PyTorch's computeStride). */
    private static int[] viewStrides(int[] oldShape, int[] oldStrides, int[] newShape) {
        int numel = Shapes.numel(oldShape);
        // no element, or a 0-dim tensor's single one (newShape is all ones): any strides address it
        if (numel == 0 || oldShape.length == 0) return Shapes.contiguousStrides(newShape);
        int[] newStrides = new int[newShape.length];
        int viewD = newShape.length - 1;
        int chunkBaseStride = oldStrides.length > 0 ? oldStrides[oldStrides.length - 1] : 1;
        long tensorNumel = 1, viewNumel = 1;
        for (int d = oldShape.length - 1; d >= 0; d--) {
            tensorNumel *= oldShape[d];
            if (d == 0 || (oldShape[d - 1] != 1 && oldStrides[d - 1] != tensorNumel * chunkBaseStride)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    newStrides[viewD] = (int) (viewNumel * chunkBaseStride);
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBaseStride = oldStrides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        if (viewD != -1) return null;
        return newStrides;
    }

    static Tensor reshape(Tensor t, int[] shape, boolean viewOnly) {
        String op = viewOnly ? "view" : "reshape";
        int[] s = inferShape(op, shape, t.shape);
        int[] st = viewStrides(t.shape, t.strides, s);
        Tensor out;
        if (st != null) {
            out = view(t, s, st, t.offset);
        } else if (viewOnly) {
            throw new IllegalArgumentException("view: shape " + Shapes.str(s) + " is incompatible with the strides "
                    + Shapes.str(t.strides) + " of a tensor of shape " + Shapes.str(t.shape) + "; use reshape()");
        } else {
            Tensor c = contiguous(t.detach());
            out = view(c, s, Shapes.contiguousStrides(s), c.offset);
        }
        int[] in = t.shape;
        return Tensor.record(out, op, g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor transpose(Tensor t, int d0, int d1) {
        int r = t.shape.length;
        if (r == 0) return t;
        int a = Shapes.dim("transpose", d0, r), b = Shapes.dim("transpose", d1, r);
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        perm[a] = b;
        perm[b] = a;
        return permute(t, perm);
    }

    static Tensor permute(Tensor t, int[] dims) {
        int r = t.shape.length;
        if (dims.length != r)
            throw new IllegalArgumentException("permute: " + dims.length + " dims " + Arrays.toString(dims) + " for a tensor of shape " + Shapes.str(t.shape));
        int[] shape = new int[r], strides = new int[r], inverse = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            int d = Shapes.dim("permute", dims[i], r);
            if (seen[d]) throw new IllegalArgumentException("permute: dim " + d + " repeats in " + Arrays.toString(dims));
            seen[d] = true;
            shape[i] = t.shape[d];
            strides[i] = t.strides[d];
            inverse[d] = i;
        }
        return Tensor.record(view(t, shape, strides, t.offset), "permute", g -> new Tensor[] {permute(g, inverse)}, t);
    }

    static Tensor squeeze(Tensor t, Integer dim) {
        int r = t.shape.length;
        List<Integer> keep = new ArrayList<>();
        int target = dim == null ? -1 : Shapes.dim("squeeze", dim, r);
        for (int d = 0; d < r; d++) {
            boolean drop = t.shape[d] == 1 && (dim == null || d == target);
            if (!drop) keep.add(d);
        }
        int[] shape = new int[keep.size()], strides = new int[keep.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.shape[keep.get(i)];
            strides[i] = t.strides[keep.get(i)];
        }
        int[] in = t.shape;
        return Tensor.record(view(t, shape, strides, t.offset), "squeeze", g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor unsqueeze(Tensor t, int dim) {
        int r = t.shape.length;
        int d = Shapes.dim("unsqueeze", dim, r + 1);
        int[] shape = new int[r + 1], strides = new int[r + 1];
        for (int i = 0, j = 0; i <= r; i++) {
            if (i == d) {
                shape[i] = 1;
                strides[i] = j < r ? t.strides[j] * t.shape[j] : 1;
            } else {
                shape[i] = t.shape[j];
                strides[i] = t.strides[j];
                j++;
            }
        }
        int[] in = t.shape;
        return Tensor.record(view(t, shape, strides, t.offset), "unsqueeze", g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor expand(Tensor t, int[] sizes) {
        int r = t.shape.length;
        if (sizes.length < r)
            throw new IllegalArgumentException("expand: target " + Shapes.str(sizes) + " has fewer dims than shape " + Shapes.str(t.shape));
        int lead = sizes.length - r;
        int[] shape = new int[sizes.length], strides = new int[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            int src = i < lead ? 1 : t.shape[i - lead];
            int want = sizes[i] == -1 ? src : sizes[i];
            if (sizes[i] < -1)
                throw new IllegalArgumentException("expand: invalid size " + sizes[i] + " in " + Shapes.str(sizes) + " for shape " + Shapes.str(t.shape));
            if (i < lead && sizes[i] == -1)
                throw new IllegalArgumentException("expand: -1 is not allowed for the new leading dim " + i + " in " + Shapes.str(sizes));
            if (src != want && src != 1)
                throw new IllegalArgumentException("expand: shape " + Shapes.str(t.shape) + " cannot expand to " + Shapes.str(sizes)
                        + " (dim " + i + ": " + src + " vs " + want + ")");
            shape[i] = want;
            strides[i] = i < lead || (src == 1 && want != 1) ? 0 : t.strides[i - lead];
        }
        int[] in = t.shape;
        return Tensor.record(view(t, shape, strides, t.offset), "expand", g -> new Tensor[] {Reduce.sumTo(g, in)}, t);
    }

    static Tensor slice(Tensor t, int dim, int start, int end, int step) {
        return slice("slice", t, dim, start, end, step);
    }

    /** slice, with errors naming {@code op} (narrow is a slice too). */
    static Tensor slice(String op, Tensor t, int dim, int start, int end, int step) {
        int r = t.shape.length;
        int d = Shapes.dim(op, dim, r);
        int n = t.shape[d];
        if (step <= 0) throw new IllegalArgumentException(op + ": step must be positive, got " + step);
        int s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
        if (s < 0 || s > n || e < s || e > n)
            throw new IndexOutOfBoundsException(op + ": range [" + start + ", " + end + ") is out of bounds for dim " + d + " of size " + n);
        int len = (e - s + step - 1) / step;
        int[] shape = t.shape.clone(), strides = t.strides.clone();
        shape[d] = len;
        strides[d] = t.strides[d] * step;
        Tensor out = view(t, shape, strides, t.offset + s * t.strides[d]);
        int[] in = t.shape;
        int ss = s;
        return Tensor.record(out, "slice", g -> {
            Tensor z = Tensor.zeros(in);
            // the range that holds exactly len elements (an empty one for len 0)
            copyInto(slice(z, d, ss, len == 0 ? ss : ss + (len - 1) * step + 1, step), g);
            return new Tensor[] {z};
        }, t);
    }

    static Tensor select(Tensor t, int dim, int index) {
        if (t.shape.length == 0) throw new IllegalArgumentException("select: a 0-dim tensor has no dim to select from (shape [])");
        int d = Shapes.dim("select", dim, t.shape.length);
        int n = t.shape[d];
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("select: index " + index + " is out of range for dim " + d + " of size " + n);
        int[] shape = new int[t.shape.length - 1], strides = new int[shape.length];
        for (int a = 0, b = 0; a < t.shape.length; a++) {
            if (a == d) continue;
            shape[b] = t.shape[a];
            strides[b++] = t.strides[a];
        }
        int[] in = t.shape;
        return Tensor.record(view(t, shape, strides, t.offset + i * t.strides[d]), "select", g -> {
            Tensor z = Tensor.zeros(in);
            copyInto(select(z, d, i), g);
            return new Tensor[] {z};
        }, t);
    }

    static Tensor flatten(Tensor t, int startDim, int endDim) {
        int r = t.shape.length;
        if (r == 0) return reshape(t, new int[] {1}, false);
        int s = Shapes.dim("flatten", startDim, r), e = Shapes.dim("flatten", endDim, r);
        if (s > e) throw new IllegalArgumentException("flatten: start dim " + startDim + " comes after end dim " + endDim);
        int[] shape = new int[r - (e - s)];
        int k = 0;
        for (int d = 0; d < s; d++) shape[k++] = t.shape[d];
        int m = 1;
        for (int d = s; d <= e; d++) m *= t.shape[d];
        shape[k++] = m;
        for (int d = e + 1; d < r; d++) shape[k++] = t.shape[d];
        return reshape(t, shape, false);
    }

    static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("cat: needs at least one tensor");
        Tensor first = tensors.get(0);
        int r = first.shape.length;
        if (r == 0) throw new IllegalArgumentException("cat: zero-dimensional tensors cannot be concatenated");
        int d = Shapes.dim("cat", dim, r);
        int total = 0;
        for (Tensor t : tensors) {
            if (t.shape.length != r) throw new IllegalArgumentException("cat: tensors have ranks " + r + " and " + t.shape.length
                    + " (shapes " + Shapes.str(first.shape) + " and " + Shapes.str(t.shape) + ")");
            for (int i = 0; i < r; i++)
                if (i != d && t.shape[i] != first.shape[i])
                    throw new IllegalArgumentException("cat: shapes " + Shapes.str(first.shape) + " and " + Shapes.str(t.shape)
                            + " differ in dim " + i + " (cat dim is " + d + ")");
            total += t.shape[d];
        }
        // integers stay exact unless a float joins them (then all become FLOAT32, as in PyTorch's promotion)
        if (tensors.stream().noneMatch(t -> t.dtype.isFloatingPoint())) return catIntegers(tensors, d, total);
        int[] shape = first.shape.clone();
        shape[d] = total;
        Tensor out = Tensor.zeros(shape);
        int pos = 0;
        int[] sizes = new int[tensors.size()];
        for (int k = 0; k < tensors.size(); k++) {
            Tensor t = tensors.get(k);
            sizes[k] = t.shape[d];
            copyInto(slice(out, d, pos, pos + t.shape[d], 1), t);
            pos += t.shape[d];
        }
        return Tensor.record(out, "cat", g -> {
            Tensor[] gs = new Tensor[sizes.length];
            int p = 0;
            for (int k = 0; k < sizes.length; k++) {
                gs[k] = slice(g, d, p, p + sizes[k], 1);
                p += sizes[k];
            }
            return gs;
        }, tensors.toArray(new Tensor[0]));
    }

    /** cat for integer tensors (ids): exact, no autograd. */
    private static Tensor catIntegers(List<Tensor> tensors, int d, int total) {
        Tensor first = tensors.get(0);
        int[] shape = first.shape.clone();
        shape[d] = total;
        long[] out = new long[Shapes.numel(shape)];
        int outer = 1, innerOut = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d; i < shape.length; i++) innerOut *= shape[i];
        int pos = 0;
        for (Tensor t : tensors) {
            long[] v = t.toLongArray();
            int inner = v.length / Math.max(outer, 1);
            for (int o = 0; o < outer; o++) System.arraycopy(v, o * inner, out, o * innerOut + pos, inner);
            pos += inner;
        }
        boolean sameDtype = tensors.stream().allMatch(t -> t.dtype == first.dtype);
        Tensor result = new Tensor(DType.INT64, out, shape, Shapes.contiguousStrides(shape), 0);
        return sameDtype ? result.to(first.dtype) : result; // mixed integer dtypes widen to INT64
    }

    static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("stack: needs at least one tensor");
        int[] s0 = tensors.get(0).shape;
        for (Tensor t : tensors)
            if (!Arrays.equals(t.shape, s0))
                throw new IllegalArgumentException("stack: all tensors need the same shape, got " + Shapes.str(s0) + " and " + Shapes.str(t.shape));
        int d = Shapes.dim("stack", dim, s0.length + 1);
        return cat(tensors.stream().map(t -> t.unsqueeze(d)).toList(), d);
    }

    static List<Tensor> split(Tensor t, int size, int dim) {
        int d = Shapes.dim("split", dim, t.shape.length);
        if (size <= 0) throw new IllegalArgumentException("split: split size must be positive, got " + size);
        List<Tensor> out = new ArrayList<>();
        for (int s = 0; s < t.shape[d]; s += size) out.add(slice(t, d, s, Math.min(s + size, t.shape[d]), 1));
        return out;
    }

    static List<Tensor> chunk(Tensor t, int chunks, int dim) {
        if (chunks <= 0) throw new IllegalArgumentException("chunk: number of chunks must be positive, got " + chunks);
        int d = Shapes.dim("chunk", dim, t.shape.length);
        int size = Math.max(1, (t.shape[d] + chunks - 1) / chunks);
        return split(t, size, d);
    }

    static Tensor triangle(Tensor t, int k, boolean lower) {
        int r = t.shape.length;
        String op = lower ? "tril" : "triu";
        if (r < 2) throw new IllegalArgumentException(op + ": needs at least 2 dims, got shape " + Shapes.str(t.shape));
        int rows = t.shape[r - 2], cols = t.shape[r - 1];
        float[] m = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                m[i * cols + j] = (lower ? j - i <= k : j - i >= k) ? 1f : 0f;
        if (!t.dtype.isFloatingPoint()) {
            // exact for ids beyond 2^24: zero the entries in the dtype itself rather than through float
            Tensor out = Storage.convert(t, t.dtype);
            int size = rows * cols;
            for (int base = 0; base < out.numel(); base += size)
                for (int e = 0; e < size; e++) if (m[e] == 0) Storage.set(out.dtype, out.data, base + e, 0);
            return out;
        }
        // select rather than multiply: -inf * 0 would be NaN, and a causal mask is full(-inf).triu(1)
        return Pointwise.where(Tensor.wrap(m, new int[] {rows, cols}), t, Tensor.scalar(0));
    }
}
