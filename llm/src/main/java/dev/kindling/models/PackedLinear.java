package dev.kindling.models;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.HalfFloats;
import dev.kindling.kernels.PackedMatrix;
import dev.kindling.kernels.QuantizedGemm;
import dev.kindling.tensor.DType;
import java.util.List;

/**
 * y = x [W1; W2; ...]^T for one or more weight matrices of the same input width stacked along their outputs (query,
 * key and value as one projection), on float arrays, for the inference forward of {@link BertModel}. FLOAT32
 * and F16 weights are packed into GEMM panels at the first call; BF16 ones too, but only once a call has more rows
 * than the bfloat16 dot kernels serve well (below that they are read in place, so small batches never double the
 * weights' memory); quantized ones always run on their own kernels. {@link #forget} drops the panels when the
 * weights may have changed.
 */
final class PackedLinear {
    final int in, out;
    private final List<WeightMatrix> parts;
    private volatile PackedMatrix packed;

    PackedLinear(List<WeightMatrix> parts) {
        this.parts = List.copyOf(parts);
        int cols = parts.get(0).cols, rows = 0;
        for (WeightMatrix w : parts) {
            if (w.cols != cols)
                throw new IllegalArgumentException("PackedLinear: weights [" + w.rows + ", " + w.cols + "] and [" + parts.get(0).rows
                        + ", " + cols + "] differ in input width");
            rows += w.rows;
        }
        in = cols;
        out = rows;
    }

    /**
     * c[r * out + j] = sum over p of x[r * in + p] * W[j][p] + beta * c[r * out + j] for r &lt; m: beta 1 adds onto a
     * bias (and residual) already in c.
     */
    void apply(float[] x, int m, float[] c, float beta) {
        PackedMatrix p = packed;
        if (p == null && packs(m)) p = pack();
        if (p != null) {
            Gemm.sgemmPacked(m, 1f, x, 0, in, p, beta, c, 0, out);
            return;
        }
        int o = 0;
        for (WeightMatrix w : parts) {
            if (w.codes != null)
                QuantizedGemm.matmul(w.bits, w.groupSize, m, w.rows, in, x, 0, in, w.codes, 0, w.scales, 0, beta, c, o, out);
            else if (w.f32 != null) { // a matrix a quantized folder kept in float, next to quantized ones
                dev.kindling.tensor.Tensor f = w.f32.contiguous();
                Gemm.sgemm(false, true, m, w.rows, in, 1f, x, 0, in, (float[]) f.storageArray(), f.storageOffset(), in, beta, c, o, out);
            } else if (w.dtype == DType.BF16) Gemm.sgemmBf16B(m, w.rows, in, x, 0, in, w.half, 0, in, beta, c, o, out);
            else Gemm.sgemmF16B(m, w.rows, in, x, 0, in, w.half, 0, in, beta, c, o, out);
            o += w.rows;
        }
    }

    /** Drops the packed panels (the FLOAT32 weights may be trained); the next call packs them again. */
    void forget() {
        packed = null;
    }

    /** Whether a call with m rows should run on packed panels. */
    private boolean packs(int m) {
        for (WeightMatrix w : parts) {
            if (w.codes != null) return false;
            if (w.dtype == DType.BF16 && m <= HALF_IN_PLACE_MAX_ROWS) return false;
        }
        return true;
    }

    /** Up to this many rows bfloat16 weights are read in place (Gemm's dot-kernel range for bfloat16). */
    static final int HALF_IN_PLACE_MAX_ROWS = 256;

    private synchronized PackedMatrix pack() {
        if (packed != null) return packed;
        float[] all = new float[Math.multiplyExact(out, in)];
        int row = 0;
        for (WeightMatrix w : parts) {
            if (w.f32 != null) {
                System.arraycopy(w.f32.contiguous().toFloatArray(), 0, all, row * in, w.rows * in);
            } else {
                for (int r = 0; r < w.rows; r++) HalfFloats.widen(w.dtype == DType.BF16, w.half, 2L * r * in, all, (row + r) * in, in);
            }
            row += w.rows;
        }
        packed = PackedMatrix.of(true, in, out, all, 0, in);
        return packed;
    }
}
