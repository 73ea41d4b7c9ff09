package dev.kindling.models;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.HalfFloats;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A pretrained weight matrix [rows, cols] for inference: either a FLOAT32 tensor (trainable, autograd as usual) or
 * 16-bit floats (BF16/F16) in a little-endian memory segment, mapped from the model file or converted once at
 * load. Half weights are never widened as a whole: {@link #linear} widens panels inside the GEMM and
 * {@link #lookup} widens only the rows it gathers, so they cost half the memory of F32. Results computed from
 * half weights carry no gradient to the weights (they are frozen).
 */
final class WeightMatrix {
    final int rows, cols;
    final Tensor f32;            // [rows, cols] FLOAT32, or null
    final MemorySegment half;    // rows * cols little-endian 16-bit floats, or null
    final DType dtype;

    private WeightMatrix(int rows, int cols, Tensor f32, MemorySegment half, DType dtype) {
        this.rows = rows;
        this.cols = cols;
        this.f32 = f32;
        this.half = half;
        this.dtype = dtype;
    }

    static WeightMatrix ofFloats(Tensor w) {
        return new WeightMatrix(w.size(0), w.size(1), w, null, DType.FLOAT32);
    }

    static WeightMatrix ofHalf(MemorySegment bits, DType dtype, int rows, int cols) {
        if (dtype != DType.BF16 && dtype != DType.F16) throw new IllegalArgumentException("WeightMatrix: " + dtype + " is not a 16-bit float type");
        if (bits.byteSize() != 2L * rows * cols)
            throw new IllegalArgumentException("WeightMatrix: " + bits.byteSize() + " bytes do not hold " + rows + " x " + cols + " 16-bit values");
        return new WeightMatrix(rows, cols, null, bits, dtype);
    }

    /** x [*, cols] → x W^T + bias [*, rows]. */
    Tensor linear(Tensor x, Tensor bias) {
        if (f32 != null) return x.linear(f32, bias);
        int[] xs = x.shape();
        if (xs.length == 0 || xs[xs.length - 1] != cols)
            throw new IllegalArgumentException("linear: input shape " + Arrays.toString(xs) + " does not end with " + cols
                    + " (weight [" + rows + ", " + cols + "] in " + dtype + ")");
        if (x.requiresGrad() && dev.kindling.autograd.Grad.isEnabled())
            throw new IllegalStateException("linear: weights in " + dtype + " are inference-only, but the input requires grad;"
                    + " load the model in FLOAT32 to train through it");
        Tensor xc = x.to(DType.FLOAT32).contiguous();
        int m = xc.numel() / cols;
        float[] c = new float[m * rows];
        float beta = 0f;
        if (bias != null) {
            // C starts as the bias in every row and the GEMM accumulates onto it (beta 1): no second pass
            float[] b = bias.toFloatArray();
            for (int i = 0; i < m; i++) System.arraycopy(b, 0, c, i * rows, rows);
            beta = 1f;
        }
        float[] a = (float[]) xc.storageArray();
        if (dtype == DType.BF16) Gemm.sgemmBf16B(m, rows, cols, a, xc.storageOffset(), cols, half, 0, cols, beta, c, 0, rows);
        else Gemm.sgemmF16B(m, rows, cols, a, xc.storageOffset(), cols, half, 0, cols, beta, c, 0, rows);
        int[] out = xs.clone();
        out[out.length - 1] = rows;
        return Tensor.wrap(c, out);
    }

    /** Rows {@code ids} [*] (INT64, each in [0, rows)) → [*, cols]; {@code what} names the table in errors. */
    Tensor lookup(Tensor ids, String what) {
        long[] v = ids.toLongArray();
        for (int i = 0; i < v.length; i++)
            if (v[i] < 0 || v[i] >= rows)
                throw new IndexOutOfBoundsException(what + ": id " + v[i] + " at position " + i + " is out of range for " + rows + " rows");
        int[] out = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        out[ids.dim()] = cols;
        if (f32 != null) return Tensor.embedding(f32, ids).reshape(out);
        float[] o = new float[v.length * cols];
        for (int i = 0; i < v.length; i++) HalfFloats.widen(dtype == DType.BF16, half, 2L * v[i] * cols, o, i * cols, cols);
        return Tensor.wrap(o, out);
    }
}
