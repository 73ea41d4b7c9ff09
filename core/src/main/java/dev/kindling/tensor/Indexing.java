package dev.kindling.tensor;

import java.util.Arrays;

/** Index ops: indexSelect, gather, scatterAdd, indexAdd, embedding, oneHot, with their gradients. */
final class Indexing {
    private Indexing() {}

    private static long[] indices(String op, Tensor index) {
        if (index.dtype != DType.INT64 && index.dtype != DType.INT32)
            throw new IllegalArgumentException(op + ": index must be INT64 or INT32, got " + index.dtype);
        return index.toLongArray();
    }

    private static int check(String op, long i, int size, int dim) {
        if (i < -size || i >= size)
            throw new IndexOutOfBoundsException(op + ": index " + i + " is out of range for dim " + dim + " of size " + size);
        return (int) (i < 0 ? i + size : i);
    }

    static Tensor indexSelect(Tensor t, int dim, Tensor index) {
        if (index.dim() > 1) throw new IllegalArgumentException("indexSelect: index must be 0-D or 1-D, got shape " + Shapes.str(index.shape));
        Tensor x = t.toFloat().contiguous();
        int d = Shapes.dim("indexSelect", dim, x.shape.length);
        long[] idx = indices("indexSelect", index);
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= x.shape[i];
        for (int i = d + 1; i < x.shape.length; i++) inner *= x.shape[i];
        int n = x.shape.length == 0 ? 1 : x.shape[d];
        int[] shape = x.shape.clone();
        if (shape.length > 0) shape[d] = idx.length;
        float[] out = FloatPool.zeros(Shapes.numel(shape));
        float[] src = x.f();
        int[] pos = new int[idx.length];
        for (int j = 0; j < idx.length; j++) pos[j] = check("indexSelect", idx[j], n, d);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.length; j++)
                System.arraycopy(src, x.offset + (o * n + pos[j]) * inner, out, (o * idx.length + j) * inner, inner);
        int[] in = x.shape;
        return Tensor.record(Tensor.wrap(out, shape), "indexSelect",
                g -> new Tensor[] {indexAdd(Tensor.zeros(in), d, index, g)}, t);
    }

    static Tensor indexAdd(Tensor t, int dim, Tensor index, Tensor src) {
        Tensor x = t.toFloat();
        int d = Shapes.dim("indexAdd", dim, x.shape.length);
        long[] idx = indices("indexAdd", index);
        int[] want = x.shape.clone();
        want[d] = idx.length;
        if (!Arrays.equals(src.shape, want))
            throw new IllegalArgumentException("indexAdd: source shape " + Shapes.str(src.shape) + " should be " + Shapes.str(want)
                    + " for " + idx.length + " indices into shape " + Shapes.str(x.shape) + " along dim " + d);
        Tensor out = x.contiguousCopy();
        Tensor s = src.toFloat().contiguous();
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= x.shape[i];
        for (int i = d + 1; i < x.shape.length; i++) inner *= x.shape[i];
        int n = x.shape[d];
        float[] o = out.f(), sv = s.f();
        for (int j = 0; j < idx.length; j++) {
            int p = check("indexAdd", idx[j], n, d);
            for (int a = 0; a < outer; a++)
                dev.kindling.kernels.Elementwise.addInto(sv, s.offset + (a * idx.length + j) * inner, 1, o, (a * n + p) * inner, inner);
        }
        return Tensor.record(out, "indexAdd", g -> new Tensor[] {g, src.requiresGrad ? g.indexSelect(d, index) : null}, t, src);
    }

    /** Visits every element of index (same rank as the data): calls visit(flatIndexPos, dataOffsetWithoutDim, coordinate along dim). */
    private static void checkGatherShapes(String op, int[] data, int[] index, int d, boolean scatter) {
        if (data.length != index.length)
            throw new IllegalArgumentException(op + ": index rank " + index.length + " differs from the tensor rank " + data.length
                    + " (shapes " + Shapes.str(index) + " and " + Shapes.str(data) + ")");
        for (int i = 0; i < data.length; i++)
            if (i != d && index[i] > data[i])
                throw new IllegalArgumentException(op + ": index shape " + Shapes.str(index) + " exceeds tensor shape " + Shapes.str(data)
                        + " in dim " + i);
    }

    static Tensor gather(Tensor t, int dim, Tensor index) {
        Tensor x = t.toFloat().contiguous();
        int d = Shapes.dim("gather", dim, x.shape.length);
        checkGatherShapes("gather", x.shape, index.shape, d, false);
        long[] idx = indices("gather", index);
        float[] out = new float[idx.length];
        int[] xs = Shapes.contiguousStrides(x.shape);
        int[] coord = new int[index.shape.length];
        float[] src = x.f();
        for (int k = 0; k < idx.length; k++) {
            int p = x.offset;
            for (int i = 0; i < coord.length; i++)
                p += (i == d ? check("gather", idx[k], x.shape[d], d) : coord[i]) * xs[i];
            out[k] = src[p];
            increment(coord, index.shape);
        }
        int[] in = x.shape;
        return Tensor.record(Tensor.wrap(out, index.shape.clone()), "gather",
                g -> new Tensor[] {scatterAdd(Tensor.zeros(in), d, index, g)}, t);
    }

    private static void increment(int[] coord, int[] shape) {
        for (int i = coord.length - 1; i >= 0; i--) {
            if (++coord[i] < shape[i]) return;
            coord[i] = 0;
        }
    }

    static Tensor scatterAdd(Tensor t, int dim, Tensor index, Tensor src) {
        Tensor x = t.toFloat();
        int d = Shapes.dim("scatterAdd", dim, x.shape.length);
        checkGatherShapes("scatterAdd", x.shape, index.shape, d, true);
        if (src.shape.length != index.shape.length)
            throw new IllegalArgumentException("scatterAdd: index shape " + Shapes.str(index.shape) + " and source shape "
                    + Shapes.str(src.shape) + " differ in rank");
        for (int i = 0; i < index.shape.length; i++)
            if (index.shape[i] > src.shape[i])
                throw new IllegalArgumentException("scatterAdd: index shape " + Shapes.str(index.shape) + " exceeds source shape " + Shapes.str(src.shape));
        long[] idx = indices("scatterAdd", index);
        Tensor out = x.contiguousCopy();
        float[] o = out.f();
        Tensor s = src.toFloat();
        int[] os = out.strides;
        int[] coord = new int[index.shape.length];
        float[] sv = s.f();
        for (int k = 0; k < idx.length; k++) {
            int p = 0, q = s.offset;
            for (int i = 0; i < coord.length; i++) {
                p += (i == d ? check("scatterAdd", idx[k], x.shape[d], d) : coord[i]) * os[i];
                q += coord[i] * s.strides[i];
            }
            o[p] += sv[q];
            increment(coord, index.shape);
        }
        int[] srcShape = src.shape;
        return Tensor.record(out, "scatterAdd", g -> new Tensor[] {g, src.requiresGrad ? padTo(g.gather(d, index), srcShape) : null}, t, src);
    }

    /** {@code g} at the start of a zero tensor of {@code shape}: source elements beyond the index's shape were not scattered. */
    private static Tensor padTo(Tensor g, int[] shape) {
        if (Arrays.equals(g.shape, shape)) return g;
        Tensor z = Tensor.zeros(shape);
        Tensor region = z;
        for (int i = 0; i < shape.length; i++) region = Views.slice(region, i, 0, g.shape[i], 1);
        Views.copyInto(region, g);
        return z;
    }

    static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding: weight must be 2-D [num, dim], got shape " + Shapes.str(weight.shape));
        if (ids.dtype != DType.INT64 && ids.dtype != DType.INT32)
            throw new IllegalArgumentException("embedding: ids must be INT64 or INT32, got " + ids.dtype + " of shape " + Shapes.str(ids.shape));
        int[] shape = Arrays.copyOf(ids.shape, ids.shape.length + 1);
        shape[ids.shape.length] = weight.shape[1];
        Tensor flat = ids.reshape(-1);
        return weight.indexSelect(0, flat).reshape(shape);
    }

    static Tensor oneHot(Tensor t, int numClasses) {
        long[] idx = indices("oneHot", t);
        if (numClasses <= 0) throw new IllegalArgumentException("oneHot: numClasses must be positive, got " + numClasses);
        float[] out = new float[Shapes.numel(t.shape) * numClasses];
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= numClasses)
                throw new IndexOutOfBoundsException("oneHot: class " + idx[i] + " is out of range for " + numClasses + " classes");
            out[i * numClasses + (int) idx[i]] = 1f;
        }
        int[] shape = Arrays.copyOf(t.shape, t.shape.length + 1);
        shape[t.shape.length] = numClasses;
        return Tensor.wrap(out, shape);
    }
}
