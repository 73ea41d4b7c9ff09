package dev.kindling.tensor;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Softmax;
import java.util.Arrays;

/** Reductions (sum, mean, var, max/min, logsumexp) and softmax along dims, and their gradients. */
final class Reduce {
    private Reduce() {}

    /** Input laid out as [outer, inner] with the reduced dims innermost; the shapes of the result. */
    private record Plan(float[] data, int base, int outer, int inner, int[] keptShape, int[] keepdimShape) {}

    private static Plan plan(String op, Tensor t, int[] dims) {
        Tensor x = t.toFloat();
        int rank = x.shape.length;
        boolean[] red = Shapes.reduceMask(op, dims, rank);
        int[] perm = new int[rank];
        int p = 0, outer = 1, inner = 1, nk = 0;
        for (int d = 0; d < rank; d++) if (!red[d]) { perm[p++] = d; outer *= x.shape[d]; nk++; }
        for (int d = 0; d < rank; d++) if (red[d]) { perm[p++] = d; inner *= x.shape[d]; }
        int[] kept = new int[nk];
        int[] keepdim = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) {
            keepdim[d] = red[d] ? 1 : x.shape[d];
            if (!red[d]) kept[k++] = x.shape[d];
        }
        Tensor c = Views.permute(x.detach(), perm).contiguous();
        return new Plan(c.f(), c.offset, outer, inner, kept, keepdim);
    }

    static Tensor sum(Tensor t, int[] dims, boolean keepdim) {
        Tensor x = t.toFloat();
        Tensor leading = sumLeadingDims(x, dims, keepdim);
        if (leading != null) return leading;
        Plan pl = plan("sum", x, dims);
        float[] out = new float[pl.outer];
        reduceSum(pl, out);
        Tensor r = Tensor.wrap(out, keepdim ? pl.keepdimShape : pl.keptShape);
        int[] inShape = x.shape, kd = pl.keepdimShape;
        return Tensor.record(r, "sum", g -> new Tensor[] {g.reshape(kd).expand(inShape).contiguous()}, x);
    }

    /**
     * Sum over the leading dims of a contiguous tensor (a bias gradient: [N, M] → [M]) as column sums, without
     * the transposed copy the general path makes; null when the dims are not such a prefix.
     */
    private static Tensor sumLeadingDims(Tensor x, int[] dims, boolean keepdim) {
        int rank = x.shape.length;
        if (dims == null || dims.length == 0 || rank < 2 || !x.isContiguous()) return null;
        boolean[] red = Shapes.reduceMask("sum", dims, rank);
        int p = 0;
        while (p < rank && red[p]) p++;
        for (int d = p; d < rank; d++) if (red[d]) return null;
        if (p == 0 || p == rank) return null;
        int rows = 1, cols = 1;
        for (int d = 0; d < p; d++) rows *= x.shape[d];
        for (int d = p; d < rank; d++) cols *= x.shape[d];
        float[] src = x.f();
        int base = x.offset, n = cols, nRows = rows;
        float[] out = new float[cols];
        // columns in parallel, rows in order, accumulated in double: deterministic and precise for long columns
        Parallel.forRange(cols, rows, (from, to) -> {
            double[] acc = new double[to - from];
            for (int r = 0; r < nRows; r++) {
                int o = base + r * n + from;
                for (int j = 0; j < acc.length; j++) acc[j] += src[o + j];
            }
            for (int j = 0; j < acc.length; j++) out[from + j] = (float) acc[j];
        });
        int[] kd = new int[rank];
        for (int d = 0; d < rank; d++) kd[d] = d < p ? 1 : x.shape[d];
        int[] shape = keepdim ? kd : java.util.Arrays.copyOfRange(x.shape, p, rank);
        int[] inShape = x.shape;
        return Tensor.record(Tensor.wrap(out, shape), "sum", g -> new Tensor[] {g.reshape(kd).expand(inShape).contiguous()}, x);
    }

    private static void reduceSum(Plan pl, float[] out) {
        float[] d = pl.data;
        int inner = pl.inner, base = pl.base;
        Parallel.forRange(pl.outer, inner, (from, to) -> {
            for (int i = from; i < to; i++) out[i] = Elementwise.sum(d, base + i * inner, 1, inner);
        });
    }

    static Tensor mean(Tensor t, int[] dims, boolean keepdim) {
        Tensor x = t.toFloat();
        Plan pl = plan("mean", x, dims);
        if (pl.inner == 0) throw new IllegalArgumentException("mean: reducing over zero elements (shape " + Shapes.str(x.shape) + ")");
        return sum(x, dims, keepdim).div(pl.inner);
    }

    static Tensor var(Tensor t, int[] dims, int correction, boolean keepdim) {
        return var("var", t, dims, correction, keepdim);
    }

    /** var, with errors naming {@code op} (std is the root of var). */
    static Tensor var(String op, Tensor t, int[] dims, int correction, boolean keepdim) {
        Tensor x = t.toFloat();
        Plan pl = plan(op, x, dims);
        int n = pl.inner;
        if (n - correction <= 0)
            throw new IllegalArgumentException(op + ": " + n + " elements with correction " + correction + " leave no degrees of freedom");
        float[] out = new float[pl.outer];
        float[] d = pl.data;
        for (int i = 0; i < pl.outer; i++) {
            int o = pl.base + i * n;
            double mean = 0;
            for (int j = 0; j < n; j++) mean += d[o + j];
            mean /= n;
            double ss = 0;
            for (int j = 0; j < n; j++) { double e = d[o + j] - mean; ss += e * e; }
            out[i] = (float) (ss / (n - correction));
        }
        Tensor r = Tensor.wrap(out, keepdim ? pl.keepdimShape : pl.keptShape);
        int[] kd = pl.keepdimShape;
        return Tensor.record(r, "var", g -> {
            Tensor centered = x.sub(x.mean(dims == null ? new int[0] : dims, true));
            return new Tensor[] {g.reshape(kd).mul(centered).mul(2.0 / (n - correction))};
        }, x);
    }

    /** Max or min over all elements; ties share the gradient evenly (PyTorch's rule for amax). */
    static Tensor extreme(Tensor t, boolean max) {
        Tensor x = t.toFloat();
        if (x.numel() == 0) throw new IllegalArgumentException((max ? "max" : "min") + ": empty tensor has no extreme value");
        Tensor c = x.contiguous();
        float[] d = c.f();
        float best = d[c.offset];
        for (int i = 1, n = c.numel(); i < n; i++) {
            float v = d[c.offset + i];
            if (Float.isNaN(v)) { best = v; break; }
            if (max ? v > best : v < best) best = v;
        }
        Tensor r = Tensor.scalar(best);
        float b = best;
        return Tensor.record(r, max ? "max" : "min", g -> {
            Tensor hit = x.eq(b).to(DType.FLOAT32);
            return new Tensor[] {hit.mul(g).div(hit.sum())};
        }, x);
    }

    static Tensor.ValuesIndices extreme(Tensor t, int dim, boolean keepdim, boolean max) {
        Tensor x = t.toFloat();
        String op = max ? "max" : "min";
        int dd = Shapes.dim(op, dim, x.shape.length);
        Plan pl = plan(op, x, new int[] {dd});
        if (pl.inner == 0) throw new IllegalArgumentException(op + ": dim " + dim + " has size 0");
        float[] vals = new float[pl.outer];
        long[] idx = new long[pl.outer];
        float[] d = pl.data;
        for (int i = 0; i < pl.outer; i++) {
            int o = pl.base + i * pl.inner;
            float best = d[o];
            int bi = 0;
            for (int j = 1; j < pl.inner && !Float.isNaN(best); j++) {
                float v = d[o + j];
                if (Float.isNaN(v) || (max ? v > best : v < best)) { best = v; bi = j; }
            }
            vals[i] = best;
            idx[i] = bi;
        }
        int[] shape = keepdim ? pl.keepdimShape : pl.keptShape;
        Tensor indices = new Tensor(DType.INT64, idx, shape.clone(), Shapes.contiguousStrides(shape), 0);
        Tensor values = Tensor.wrap(vals, shape.clone());
        int[] kd = pl.keepdimShape, inShape = x.shape;
        values = Tensor.record(values, op, g -> {
            Tensor ik = indices.reshape(kd);
            return new Tensor[] {Tensor.zeros(inShape).scatterAdd(dd, ik, g.reshape(kd))};
        }, x);
        return new Tensor.ValuesIndices(values, indices);
    }

    static Tensor logsumexp(Tensor t, int dim, boolean keepdim) {
        Tensor x = t.toFloat();
        int dd = Shapes.dim("logsumexp", dim, x.shape.length);
        Plan pl = plan("logsumexp", x, new int[] {dd});
        float[] out = new float[pl.outer];
        for (int i = 0; i < pl.outer; i++) out[i] = Softmax.logSumExp(pl.data, pl.base + i * pl.inner, pl.inner);
        Tensor r = Tensor.wrap(out, keepdim ? pl.keepdimShape : pl.keptShape);
        int[] kd = pl.keepdimShape;
        return Tensor.record(r, "logsumexp", g -> {
            try (var noGrad = dev.kindling.autograd.Grad.disabled()) {
                return new Tensor[] {g.reshape(kd).mul(x.softmax(dd))};
            }
        }, x);
    }

    static Tensor softmax(Tensor t, int dim, boolean log) {
        Tensor x = t.toFloat();
        String op = log ? "logSoftmax" : "softmax";
        int dd = Shapes.dim(op, dim, x.shape.length);
        int rank = x.shape.length;
        Tensor moved = rank == 0 ? x.reshape(1) : Views.transpose(x.detach(), dd, rank - 1).contiguous();
        int n = rank == 0 ? 1 : x.shape[dd];
        int rows = n == 0 ? 0 : moved.numel() / n;
        float[] src = moved.f();
        float[] dst = new float[moved.numel()];
        int base = moved.offset;
        Parallel.forRange(rows, 4L * n, (from, to) -> {
            for (int r = from; r < to; r++) {
                if (log) Softmax.logSoftmax(src, base + r * n, dst, r * n, n);
                else Softmax.softmax(src, base + r * n, dst, r * n, n);
            }
        });
        Tensor y = Tensor.wrap(dst, moved.shape.clone());
        Tensor out = rank == 0 ? y.reshape() : Views.transpose(y, dd, rank - 1);
        return Tensor.record(out, op, g -> {
            if (log) return new Tensor[] {g.sub(out.exp().mul(g.sum(dd, true)))};
            return new Tensor[] {out.mul(g.sub(g.mul(out).sum(dd, true)))};
        }, x);
    }

    /** Sums a broadcast gradient back to {@code shape} (the inverse of broadcasting). */
    static Tensor sumTo(Tensor g, int[] shape) {
        if (Arrays.equals(g.shape, shape)) return g;
        int lead = g.shape.length - shape.length;
        if (lead < 0) throw new IllegalArgumentException("sumTo: cannot reduce shape " + Shapes.str(g.shape) + " to " + Shapes.str(shape));
        int[] dims = new int[g.shape.length];
        int n = 0;
        for (int d = 0; d < g.shape.length; d++) {
            if (d < lead) dims[n++] = d;
            else if (shape[d - lead] == 1 && g.shape[d] != 1) dims[n++] = d;
        }
        Tensor s = n == 0 ? g : sum(g, Arrays.copyOf(dims, n), true);
        return s.reshape(shape);
    }
}
