package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;

/**
 * A constant right-hand operand B (k x n) of {@link Gemm#sgemmPacked}, packed once into the GEMM engine's
 * micro-panel layout. A linear layer's weight is the same matrix on every call, yet {@link Gemm#sgemm} packs it
 * again each time (for a batch of 16 tokens that packing costs as much as the arithmetic); packing it at load, as
 * ONNX Runtime does, removes that pass. Half-precision weights are widened once into the packed floats, so a packed
 * matrix takes 4 bytes per element whatever it was stored in.
 *
 * <p>Layout: for each slice of {@link #sliceDepth} rows of B (at most about KC: {@code GemmKernel.sliceDepth}), the slice's columns in
 * micro-panels of {@code NR}; the panels of slice s start at {@code s * sliceDepth * paddedCols} and panel j of it
 * holds its kc x NR values row by row. Columns past n are zero.
 */
public final class PackedMatrix {
    final int k, n;
    final int panelWidth, sliceDepth, paddedCols;
    final float[] panels;
    final GemmEngine engine; // the engine whose layout this is; another engine unpacks it (see Gemm.sgemmPacked)

    PackedMatrix(int k, int n, int panelWidth, int sliceDepth, float[] panels, GemmEngine engine) {
        this.k = k;
        this.n = n;
        this.panelWidth = panelWidth;
        this.sliceDepth = sliceDepth;
        this.paddedCols = (n + panelWidth - 1) / panelWidth * panelWidth;
        this.panels = panels;
        this.engine = engine;
    }

    /**
     * Packs op(B), k x n: with {@code transposed}, B is stored n x k (a Linear weight [out, in], giving x W^T);
     * otherwise k x n. Element (i, j) of the stored matrix is {@code b[off + i * ld + j]}. The array is only read.
     *
     * @throws IllegalArgumentException if a size is negative, ld is too small, or the matrix reaches outside b
     */
    public static PackedMatrix of(boolean transposed, int k, int n, float[] b, int off, int ld) {
        int rows = transposed ? n : k, cols = transposed ? k : n;
        check("PackedMatrix.of", k, n, rows, cols, ld);
        if (rows > 0 && cols > 0) {
            if (b == null) throw new IllegalArgumentException("PackedMatrix.of: B is null but holds " + rows + " x " + cols);
            long end = off + (long) (rows - 1) * ld + cols;
            if (off < 0 || end > b.length)
                throw new IllegalArgumentException("PackedMatrix.of: B (stored " + rows + " x " + cols + ", ld " + ld + ") at offset "
                        + off + " spans [" + off + ", " + end + ") but the array has " + b.length);
        }
        return Gemm.engine().pack(transposed, k, n, b, off, ld);
    }

    /**
     * Packs W^T for a weight W [n, k] of 16-bit floats (bfloat16 when {@code bf16}, IEEE half otherwise) stored
     * little-endian in {@code w} from byte {@code off}, rows {@code ld} elements apart: the B of y = x W^T.
     *
     * @throws IllegalArgumentException if a size is negative, ld is too small, or the matrix reaches outside w
     */
    public static PackedMatrix ofHalf(boolean bf16, int k, int n, MemorySegment w, long off, int ld) {
        check("PackedMatrix.ofHalf", k, n, n, k, ld);
        float[] wide = new float[Math.multiplyExact(n, k)];
        if (n > 0 && k > 0) {
            if (w == null) throw new IllegalArgumentException("PackedMatrix.ofHalf: W is null but holds " + n + " x " + k);
            long end = off + 2L * ((long) (n - 1) * ld + k);
            if (off < 0 || end > w.byteSize())
                throw new IllegalArgumentException("PackedMatrix.ofHalf: W (stored " + n + " x " + k + ", ld " + ld + ") at byte " + off
                        + " spans bytes [" + off + ", " + end + ") but the segment has " + w.byteSize());
            for (int j = 0; j < n; j++) HalfFloats.widen(bf16, w, off + 2L * j * ld, wide, j * k, k);
        }
        return Gemm.engine().pack(true, k, n, wide, 0, k);
    }

    /** Rows of op(B): the shared dimension k. */
    public int rows() {
        return k;
    }

    /** Columns of op(B): the n of the product. */
    public int cols() {
        return n;
    }

    /** op(B)(i, j), read back from the panels. */
    float get(int i, int j) {
        int pc = i / sliceDepth * sliceDepth, kc = Math.min(sliceDepth, k - pc), jr = j / panelWidth * panelWidth;
        return panels[pc * paddedCols + jr * kc + (i - pc) * panelWidth + (j - jr)];
    }

    /** op(B) as a plain row-major k x n array: for an engine with another layout (a forced vector width). */
    float[] unpack() {
        float[] out = new float[k * n];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++) out[i * n + j] = get(i, j);
        return out;
    }

    private static void check(String op, int k, int n, int rows, int cols, int ld) {
        if (k < 0 || n < 0) throw new IllegalArgumentException(op + ": sizes must be >= 0, got k=" + k + " n=" + n);
        if (rows > 0 && cols > 0 && ld < cols)
            throw new IllegalArgumentException(op + ": ld " + ld + " < " + cols + " (stored " + rows + " x " + cols + ")");
    }
}
