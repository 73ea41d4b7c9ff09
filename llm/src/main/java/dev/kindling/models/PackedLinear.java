package dev.kindling.models;

import dev.kindling.kernels.EncoderLayer;
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
 * than {@link Bf16Tiles} serves well (below that they are read in place by it, so small batches never double the
 * weights' memory); quantized ones always run on their own kernels. {@link #forget} drops the panels when the
 * weights may have changed.
 */
final class PackedLinear implements EncoderLayer.Projection {
    final int in, out;
    private final List<WeightMatrix> parts;
    private volatile PackedMatrix packed;
    private volatile PackedMatrix[] blocks; // column blocks for small batches split over the threads

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

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    /**
     * c[r * out + j] = sum over p of x[r * in + p] * W[j][p] + beta * c[r * out + j] for r &lt; m: beta 1 adds onto a
     * bias (and residual) already in c.
     */
    @Override
    public void apply(float[] x, int m, float[] c, float beta) {
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
            else floatRows(w, o, o, o + w.rows, x, m, c, beta); // a matrix a quantized folder kept in float, or half weights
            o += w.rows;
        }
    }

    /**
     * Output columns [lo, hi) of part w (whose first row is output column o) from its float or half weights, read in
     * place: c[r * out + j] = x[r] . W[j - o] + beta * c[r * out + j].
     */
    private void floatRows(WeightMatrix w, int o, int lo, int hi, float[] x, int m, float[] c, float beta) {
        if (w.f32 != null) {
            dev.kindling.tensor.Tensor f = w.f32.contiguous();
            Gemm.sgemm(false, true, m, hi - lo, in, 1f, x, 0, in, (float[]) f.storageArray(), f.storageOffset() + (lo - o) * in, in, beta, c, lo, out);
        } else if (w.dtype == DType.BF16) {
            Bf16Tiles.matmul(m, in, x, 0, in, w.half, 0, in, o, lo, hi, beta, c, 0, out);
        } else {
            Gemm.sgemmF16B(m, hi - lo, in, x, 0, in, w.half, 2L * (lo - o) * in, in, beta, c, lo, out);
        }
    }

    /** Quantized weights run on their own kernels, which take whole matrices only. */
    @Override
    public boolean splitsColumns() {
        for (WeightMatrix w : parts) if (w.codes != null) return false;
        return true;
    }

    /**
     * Columns [blockStart(out, part, parts), blockStart(out, part + 1, parts)) of {@link #apply}: bfloat16 weights
     * of a small batch read in place (the block's rows of W), others from the block packed on its own, once.
     */
    @Override
    public void applyBlock(float[] x, int m, float[] c, float beta, int part, int count) {
        if (!splitsColumns()) throw new UnsupportedOperationException("PackedLinear: quantized weights do not split by columns");
        int from = EncoderLayer.blockStart(out, part, count), to = EncoderLayer.blockStart(out, part + 1, count);
        if (from >= to) return;
        if (!packs(m)) {
            int o = 0;
            for (WeightMatrix w : parts) {
                int lo = Math.max(from, o), hi = Math.min(to, o + w.rows);
                if (lo < hi) floatRows(w, o, lo, hi, x, m, c, beta);
                o += w.rows;
            }
            return;
        }
        PackedMatrix[] b = blocks;
        if (b == null || b.length != count) b = packBlocks(count);
        Gemm.sgemmPacked(m, 1f, x, 0, in, b[part], beta, c, from, out);
    }

    /** Drops the packed panels (the FLOAT32 weights may be trained); the next call packs them again. */
    void forget() {
        packed = null;
        blocks = null;
    }

    private synchronized PackedMatrix[] packBlocks(int count) {
        if (blocks != null && blocks.length == count) return blocks;
        PackedMatrix[] b = new PackedMatrix[count];
        for (int j = 0; j < count; j++) {
            int from = EncoderLayer.blockStart(out, j, count), to = EncoderLayer.blockStart(out, j + 1, count);
            if (from < to) b[j] = PackedMatrix.of(true, in, to - from, rows(from, to), 0, in);
        }
        blocks = b;
        return b;
    }

    /** Rows [from, to) of the stacked weights as floats [to - from, in]. */
    private float[] rows(int from, int to) {
        float[] all = new float[Math.multiplyExact(to - from, in)];
        int o = 0;
        for (WeightMatrix w : parts) {
            int lo = Math.max(from, o), hi = Math.min(to, o + w.rows);
            if (lo < hi) {
                if (w.f32 != null) System.arraycopy(w.f32.contiguous().toFloatArray(), (lo - o) * in, all, (lo - from) * in, (hi - lo) * in);
                else for (int r = lo; r < hi; r++) HalfFloats.widen(w.dtype == DType.BF16, w.half, 2L * (r - o) * in, all, (r - from) * in, in);
            }
            o += w.rows;
        }
        return all;
    }

    /** Whether a call with m rows should run on packed panels. */
    private boolean packs(int m) {
        for (WeightMatrix w : parts) {
            if (w.codes != null) return false;
            if (w.dtype == DType.BF16 && m <= HALF_IN_PLACE_MAX_ROWS) return false;
        }
        return true;
    }

    /** Up to this many rows bfloat16 weights are read in place ({@link Bf16Tiles}); more rows amortise packed panels. */
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
