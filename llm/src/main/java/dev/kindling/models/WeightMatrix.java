package dev.kindling.models;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.HalfFloats;
import dev.kindling.kernels.Quantization;
import dev.kindling.kernels.QuantizedGemm;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A pretrained weight matrix [rows, cols] for inference: a FLOAT32 tensor (trainable, autograd as usual),
 * 16-bit floats (BF16/F16) in a little-endian memory segment, or group-wise int8/int4 codes ({@link Quantization})
 * with their scales, mapped from the model file or converted once at load. Compressed weights are never widened
 * as a whole: {@link #linear} decodes them inside the GEMM and {@link #lookup} only the rows it gathers. Results
 * computed from compressed weights carry no gradient to the weights (they are frozen).
 */
final class WeightMatrix {
    final int rows, cols;
    final Tensor f32;            // [rows, cols] FLOAT32, or null
    final MemorySegment half;    // rows * cols little-endian 16-bit floats, or null
    final DType dtype;           // FLOAT32, BF16, F16, or INT8 for quantized codes (then bits says 8 or 4)
    final int bits, groupSize;   // quantized only
    final MemorySegment codes;   // quantized: rows * Quantization.rowBytes(bits, cols) bytes, or null
    final float[] scales;        // quantized: rows * Quantization.groups(cols, groupSize) floats, or null
    /** Sees every input of {@link #linear} while set: how {@link Calibration} collects a layer's activations. */
    java.util.function.Consumer<Tensor> inputObserver;

    private WeightMatrix(int rows, int cols, Tensor f32, MemorySegment half, DType dtype, int bits, int groupSize,
                         MemorySegment codes, float[] scales) {
        this.rows = rows;
        this.cols = cols;
        this.f32 = f32;
        this.half = half;
        this.dtype = dtype;
        this.bits = bits;
        this.groupSize = groupSize;
        this.codes = codes;
        this.scales = scales;
    }

    private WeightMatrix(int rows, int cols, Tensor f32, MemorySegment half, DType dtype) {
        this(rows, cols, f32, half, dtype, 0, 0, null, null);
    }

    /**
     * Quantized codes and scales in the layout of {@link Quantization}.
     *
     * @throws IllegalArgumentException if the format is invalid or the sizes do not match rows x cols
     */
    static WeightMatrix ofQuantized(int bits, int groupSize, MemorySegment codes, float[] scales, int rows, int cols) {
        Quantization.check(bits, groupSize, cols);
        long bytes = rows * Quantization.rowBytes(bits, cols), nScales = (long) rows * Quantization.groups(cols, groupSize);
        if (codes.byteSize() != bytes)
            throw new IllegalArgumentException("WeightMatrix: " + codes.byteSize() + " bytes do not hold " + rows + " x " + cols
                    + " " + bits + "-bit codes (" + bytes + " bytes)");
        if (scales.length != nScales)
            throw new IllegalArgumentException("WeightMatrix: " + scales.length + " scales for " + rows + " x " + cols + " with group size "
                    + groupSize + ", expected " + nScales);
        return new WeightMatrix(rows, cols, null, null, DType.INT8, bits, groupSize, codes, scales);
    }

    /** Bytes read from this matrix by one pass over it (a matrix-vector product). */
    long byteSize() {
        if (f32 != null) return 4L * rows * cols;
        if (half != null) return half.byteSize();
        return codes.byteSize() + 4L * scales.length;
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
        if (inputObserver != null) inputObserver.accept(x);
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
        if (codes != null) QuantizedGemm.matmul(bits, groupSize, m, rows, cols, a, xc.storageOffset(), cols, codes, 0, scales, 0, beta, c, 0, rows);
        else if (dtype == DType.BF16) Gemm.sgemmBf16B(m, rows, cols, a, xc.storageOffset(), cols, half, 0, cols, beta, c, 0, rows);
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
        for (int i = 0; i < v.length; i++) row((int) v[i], o, i * cols);
        return Tensor.wrap(o, out);
    }

    /** dst[off ..off + cols) = row r as floats (r in [0, rows), unchecked): one embedding row for batch-1 decoding. */
    void row(int r, float[] dst, int off) {
        if (f32 != null) {
            Tensor t = f32.contiguous();
            System.arraycopy((float[]) t.storageArray(), t.storageOffset() + r * cols, dst, off, cols);
        } else if (codes != null) {
            Quantization.dequantizeRow(bits, groupSize, cols, codes, 0, scales, 0, r, dst, off);
        } else {
            HalfFloats.widen(dtype == DType.BF16, half, 2L * r * cols, dst, off, cols);
        }
    }
}
