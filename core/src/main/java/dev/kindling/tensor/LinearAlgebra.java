package dev.kindling.tensor;

import dev.kindling.kernels.Gemm;
import java.util.Arrays;

/** matmul with PyTorch's rank rules and linear, both on the one GEMM entry point. */
final class LinearAlgebra {
    private LinearAlgebra() {}

    /** A 2-D operand as GEMM wants it: either row-major (ld = row stride) or transposed row-major. */
    private record Operand(float[] data, int offset, int ld, boolean trans) {}

    /** Describes the last two dims of t for GEMM without copying when its strides allow. */
    private static Operand operand(Tensor t, int r, int c) {
        int rs = t.strides[t.shape.length - 2], cs = t.strides[t.shape.length - 1];
        if (cs == 1 && (rs >= Math.max(c, 1) || r <= 1)) return new Operand(t.f(), t.offset, Math.max(rs, Math.max(c, 1)), false);
        if (rs == 1 && (cs >= Math.max(r, 1) || c <= 1)) return new Operand(t.f(), t.offset, Math.max(cs, Math.max(r, 1)), true);
        return null;
    }

    static Tensor matmul(Tensor a0, Tensor b0) {
        DType half = Autocast.dtype();
        if (half != null) return AutocastOps.matmul(a0, b0, half);
        Tensor a = a0.toFloat(), b = b0.toFloat();
        if (a.dim() == 0 || b.dim() == 0)
            throw new IllegalArgumentException("matmul: both operands need at least 1 dim, got shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape));
        if (b.dim() == 2 && a.dim() > 2 && a.size(-1) == b.size(0)) return foldedMatmul(a0, b0);
        boolean aVec = a.dim() == 1, bVec = b.dim() == 1;
        Tensor A = aVec ? a.unsqueeze(0) : a;
        Tensor B = bVec ? b.unsqueeze(1) : b;
        int m = A.size(-2), k = A.size(-1), k2 = B.size(-2), n = B.size(-1);
        if (k != k2)
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape)
                    + " do not align (" + k + " vs " + k2 + ")");
        int[] ab = Arrays.copyOf(A.shape, A.dim() - 2), bb = Arrays.copyOf(B.shape, B.dim() - 2);
        int[] batch;
        try {
            batch = Shapes.broadcast("matmul", ab, bb);
        } catch (IllegalArgumentException e) { // name the operands, not just their batch dims
            throw new IllegalArgumentException("matmul: batch dims of shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape)
                    + " cannot be broadcast (" + Shapes.str(ab) + " vs " + Shapes.str(bb) + ")");
        }
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.zeros(outShape);
        multiply(A, B, batch, m, n, k, out);
        Tensor result = out;
        if (aVec && bVec) result = out.reshape();
        else if (aVec) result = out.squeeze(-2);
        else if (bVec) result = out.squeeze(-1);
        Tensor res = result.detach();
        return Tensor.record(res, "matmul", g -> {
            Tensor gg = g;
            if (aVec && bVec) gg = g.reshape(1, 1);
            else if (aVec) gg = g.unsqueeze(-2);
            else if (bVec) gg = g.unsqueeze(-1);
            Tensor ga = null, gb = null;
            if (a.requiresGrad) {
                ga = Reduce.sumTo(gg.matmul(B.transpose(-1, -2)), A.shape);
                if (aVec) ga = ga.reshape(a.shape);
            }
            if (b.requiresGrad) {
                gb = Reduce.sumTo(A.transpose(-1, -2).matmul(gg), B.shape);
                if (bVec) gb = gb.reshape(b.shape);
            }
            return new Tensor[] {ga, gb};
        }, a0, b0);
    }

    /**
     * [..., M, K] @ [K, N] as one [(...*M), K] @ [K, N] product: one GEMM with the weight read once, instead
     * of a batch of small ones that broadcast it; the weight's gradient is likewise one GEMM.
     */
    private static Tensor foldedMatmul(Tensor a0, Tensor b0) {
        Tensor a = a0.toFloat(), b = b0.toFloat();
        int[] as = a.shape;
        int k = b.shape[0], n = b.shape[1];
        Tensor a2 = a.detach().reshape(-1, k);
        int rows = a2.shape[0];
        Tensor out = Tensor.zeros(rows, n);
        multiply(a2, b.detach(), new int[0], rows, n, k, out);
        int[] outShape = as.clone();
        outShape[outShape.length - 1] = n;
        Tensor res = out.reshape(outShape).detach();
        return Tensor.record(res, "matmul", g -> {
            Tensor g2 = g.reshape(-1, n);
            Tensor ga = a.requiresGrad ? g2.matmul(b.t()).reshape(as) : null;
            Tensor gb = null;
            if (b.requiresGrad) {
                gb = b0.uninitializedGradBuffer(k, n);
                if (rows == 0) java.util.Arrays.fill(gb.f(), 0f);
                else multiply(a2.t(), g2, new int[0], k, n, rows, gb);
            }
            return new Tensor[] {ga, gb};
        }, a0, b0);
    }

    /** out[batch..., m, n] = A @ B with broadcast batch dims, via batched GEMM (copying operands only when strides demand). */
    private static void multiply(Tensor A, Tensor B, int[] batch, int m, int n, int k, Tensor out) {
        int nb = Shapes.numel(batch);
        if (nb == 0 || m == 0 || n == 0) return;
        int[] ash = Arrays.copyOf(batch, batch.length + 2);
        ash[batch.length] = m;
        ash[batch.length + 1] = k;
        int[] bsh = Arrays.copyOf(batch, batch.length + 2);
        bsh[batch.length] = k;
        bsh[batch.length + 1] = n;
        Tensor Ae = A.detach().expand(ash), Be = B.detach().expand(bsh);
        // batch dims must collapse to one stride per operand for a single batched call; else copy
        Integer sa = batchStride(Ae, batch.length), sb = batchStride(Be, batch.length);
        Operand oa = sa == null ? null : operand(Ae, m, k), ob = sb == null ? null : operand(Be, k, n);
        if (oa == null) { Ae = Ae.contiguous(); sa = batchStride(Ae, batch.length); oa = operand(Ae, m, k); }
        if (ob == null) { Be = Be.contiguous(); sb = batchStride(Be, batch.length); ob = operand(Be, k, n); }
        if (sa == null) { Ae = Ae.contiguousCopy(); sa = m * k; oa = operand(Ae, m, k); }
        if (sb == null) { Be = Be.contiguousCopy(); sb = k * n; ob = operand(Be, k, n); }
        if (nb == 1) {
            Gemm.sgemm(oa.trans, ob.trans, m, n, k, 1f, oa.data, oa.offset, oa.ld, ob.data, ob.offset, ob.ld, 0f, out.f(), 0, n);
        } else {
            Gemm.sgemmBatched(nb, oa.trans, ob.trans, m, n, k, 1f, oa.data, oa.offset, oa.ld, sa, ob.data, ob.offset, ob.ld, sb,
                    0f, out.f(), 0, n, (long) m * n);
        }
    }

    /** The single stride that steps through all batch dims in row-major order, or null if there is none. */
    private static Integer batchStride(Tensor t, int nBatch) {
        if (nBatch == 0) return 0;
        Integer stride = null;
        int expect = -1;
        for (int d = nBatch - 1; d >= 0; d--) {
            if (t.shape[d] == 1) continue;
            if (stride == null) {
                stride = t.strides[d];
                expect = stride * t.shape[d];
            } else {
                if (t.strides[d] != expect) return null;
                expect *= t.shape[d];
            }
        }
        return stride == null ? 0 : stride;
    }

    static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() != 2)
            throw new IllegalArgumentException("linear: weight must be 2-D [out, in], got shape " + Shapes.str(weight.shape));
        if (x.dim() == 0 || x.size(-1) != weight.shape[1])
            throw new IllegalArgumentException("linear: input shape " + Shapes.str(x.shape) + " does not match weight shape "
                    + Shapes.str(weight.shape) + " (" + (x.dim() == 0 ? 0 : x.size(-1)) + " vs " + weight.shape[1] + " input features)");
        if (bias != null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new IllegalArgumentException("linear: bias shape " + Shapes.str(bias.shape) + " should be [" + weight.shape[0] + "]");
        DType half = Autocast.dtype();
        if (half != null) return AutocastOps.linear(x, weight, bias, half);
        return fusedLinear(x, weight, bias);
    }

    /**
     * y = x W^T + b as one op: the bias is written into y before the GEMM accumulates onto it (no separate add
     * pass or temporary), and the backward computes dW = g^T x straight into W's [out, in] layout, a fresh
     * contiguous array that the weight can take as its .grad without a copy.
     */
    private static Tensor fusedLinear(Tensor x0, Tensor w0, Tensor b0) {
        Tensor x = x0.toFloat(), w = w0.toFloat(), b = b0 == null ? null : b0.toFloat();
        int out = w.shape[0], in = w.shape[1];
        int[] xs = x.shape;
        Tensor x2 = x.detach().reshape(-1, in);
        int rows = x2.shape[0];
        Operand ox = operand(x2, rows, in);
        if (ox == null) { x2 = x2.contiguous(); ox = operand(x2, rows, in); }
        Tensor wd = w.detach();
        Operand ow = operand(wd, out, in);
        if (ow == null) { wd = wd.contiguous(); ow = operand(wd, out, in); }
        Tensor y = Tensor.uninitialized(rows, out); // the bias rows or the beta-0 GEMM write every element
        float[] yd = y.f();
        float beta = 0f;
        if (b != null && rows > 0) {
            Tensor bc = b.detach().contiguous();
            float[] bd = bc.f();
            for (int r = 0; r < rows; r++) System.arraycopy(bd, bc.offset, yd, r * out, out);
            beta = 1f;
        }
        if (rows > 0 && out > 0)
            Gemm.sgemm(ox.trans, !ow.trans, rows, out, in, 1f, ox.data, ox.offset, ox.ld, ow.data, ow.offset, ow.ld, beta, yd, 0, out);
        int[] ys = xs.clone();
        ys[ys.length - 1] = out;
        Tensor res = y.reshape(ys);
        final Operand fx = ox, fw = ow;
        Tensor[] inputs = b0 == null ? new Tensor[] {x0, w0} : new Tensor[] {x0, w0, b0};
        return Tensor.record(res, "linear", g -> {
            Tensor g2 = g.reshape(-1, out);
            Operand og = operand(g2, rows, out);
            if (og == null) { g2 = g2.contiguous(); og = operand(g2, rows, out); }
            Tensor gx = null, gw = null, gb = null;
            if (x0.requiresGrad && rows > 0) {
                gx = Tensor.uninitialized(rows, in); // beta 0: the GEMM writes every element
                Gemm.sgemm(og.trans, fw.trans, rows, in, out, 1f, og.data, og.offset, og.ld, fw.data, fw.offset, fw.ld, 0f, gx.f(), 0, in);
                gx = gx.reshape(xs);
            } else if (x0.requiresGrad) {
                gx = Tensor.zeros(xs);
            }
            if (w0.requiresGrad && fw.trans) {
                // the weight is stored [in, out] (GPT-2's Conv1D passes W.t()): dW^T = x^T g in that layout, whose
                // transposed view the transpose's backward turns back into a contiguous gradient for W
                Tensor gt = rows > 0 ? Tensor.uninitialized(in, out) : Tensor.zeros(in, out);
                if (rows > 0)
                    Gemm.sgemm(!fx.trans, og.trans, in, out, rows, 1f, fx.data, fx.offset, fx.ld, og.data, og.offset, og.ld, 0f, gt.f(), 0, out);
                gw = gt.t();
            } else if (w0.requiresGrad) {
                gw = w0.uninitializedGradBuffer(out, in);
                if (rows == 0) java.util.Arrays.fill(gw.f(), 0f);
                else
                    Gemm.sgemm(!og.trans, fx.trans, out, in, rows, 1f, og.data, og.offset, og.ld, fx.data, fx.offset, fx.ld, 0f, gw.f(), 0, in);
            }
            if (b0 != null && b0.requiresGrad) gb = g2.sum(0);
            return b0 == null ? new Tensor[] {gx, gw} : new Tensor[] {gx, gw, gb};
        }, inputs);
    }
}
