package dev.kindling.kernels;

/**
 * Single-precision matrix multiply (BLAS {@code sgemm}) on row-major float arrays: the engine behind every
 * matmul, linear layer and convolution. Packed panels, cache blocking from the machine's cache sizes, a
 * register-tiled SIMD micro-kernel on the preferred vector width ({@code -Dkindling.vector.bits=128|256|512}
 * forces one), and the {@link Parallel} pool; m == 1 or n == 1 takes a matrix-vector path.
 * {@link GemmReference} is its scalar twin.
 */
public final class Gemm {
    private static final GemmEngine DEFAULT = new GemmKernel();
    private static final GemmEngine[] FORCED = new GemmEngine[3]; // hidden copies for 128, 256, 512 bits
    private static volatile GemmEngine engine = DEFAULT;

    private Gemm() {}

    /**
     * C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k and op(B) is k x n.
     * With {@code transA}, A is stored k x m (lda &gt;= m) and op(A) is its transpose; otherwise A is stored
     * m x k (lda &gt;= k); likewise {@code transB}. C is m x n with ldc &gt;= n. Element (i, j) of a stored
     * matrix X lives at {@code x[xOff + i * ldx + j]}. beta 0 overwrites C without reading it (NaN stays out);
     * alpha 0 (or k 0) only scales C, without reading A and B, as BLAS does.
     *
     * @throws IllegalArgumentException if a size is negative, a leading dimension is too small, or an operand
     *     would reach outside its array
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        checkShape("sgemm", m, n, k, transA, lda, transB, ldb, ldc);
        checkOperand("sgemm", "A", a, aOff, transA ? k : m, transA ? m : k, lda);
        checkOperand("sgemm", "B", b, bOff, transB ? n : k, transB ? k : n, ldb);
        checkOperand("sgemm", "C", c, cOff, m, n, ldc);
        engine.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * {@link #sgemm} for each i in [0, batch) on A at {@code aOff + i * strideA}, B at {@code bOff + i * strideB}
     * and C at {@code cOff + i * strideC}. A stride of 0 broadcasts that operand to every problem (C's stride must
     * keep the outputs apart). Small problems run one per thread; large ones are each split over the threads.
     *
     * @throws IllegalArgumentException as {@link #sgemm} does, for the first or last problem of the batch
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                                    float beta, float[] c, int cOff, int ldc, long strideC) {
        if (batch < 0) throw new IllegalArgumentException("sgemmBatched: batch must be >= 0, got " + batch);
        checkShape("sgemmBatched", m, n, k, transA, lda, transB, ldb, ldc);
        if (batch == 0) return;
        if (batch > 1 && m > 0 && n > 0 && Math.abs(strideC) < (long) (m - 1) * ldc + n)
            throw new IllegalArgumentException("sgemmBatched: strideC " + strideC + " makes the " + m + " x " + n
                    + " outputs (ldc " + ldc + ") overlap");
        long last = batch - 1L;
        for (long i : new long[] {0, last}) {
            checkOperand("sgemmBatched", "A", a, aOff + i * strideA, transA ? k : m, transA ? m : k, lda);
            checkOperand("sgemmBatched", "B", b, bOff + i * strideB, transB ? n : k, transB ? k : n, ldb);
            checkOperand("sgemmBatched", "C", c, cOff + i * strideC, m, n, ldc);
        }
        engine.sgemmBatched(batch, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB,
                beta, c, cOff, ldc, strideC);
    }

    /**
     * C = A * B^T + beta * C with B in bfloat16: A is m x k floats (row-major, lda &gt;= k), B is n x k 16-bit
     * values in {@code b} (little-endian, possibly unaligned, as safetensors stores them) starting at byte
     * {@code bOff} with rows {@code ldb} elements apart, C is m x n (ldc &gt;= n). This is y = x W^T for a
     * Linear weight W [out, in] kept in half precision: B is never widened as a whole, only panels of
     * {@link #HALF_PANEL_FLOATS} floats at a time, so the weights stay at half the memory of F32.
     * beta 0 overwrites C without reading it. {@link GemmReference#sgemmHalfB} is the scalar twin.
     *
     * @throws IllegalArgumentException if a size is negative, a leading dimension is too small, or an operand
     *     would reach outside its array or segment
     */
    public static void sgemmBf16B(int m, int n, int k, float[] a, int aOff, int lda, java.lang.foreign.MemorySegment b,
                                  long bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        sgemmHalfB("sgemmBf16B", true, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** {@link #sgemmBf16B} with B in IEEE half precision (F16). */
    public static void sgemmF16B(int m, int n, int k, float[] a, int aOff, int lda, java.lang.foreign.MemorySegment b,
                                 long bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        sgemmHalfB("sgemmF16B", false, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * C = alpha * A * B + beta * C with B packed once beforehand ({@link PackedMatrix}): A is m x k (row-major,
     * lda &gt;= k), C is m x n (ldc &gt;= n), k and n are B's. The same arithmetic as {@link #sgemm} without packing B
     * on each call, for constant weights. beta 0 overwrites C without reading it.
     *
     * @throws IllegalArgumentException if B is null, m is negative, a leading dimension is too small, or an operand
     *     would reach outside its array
     */
    public static void sgemmPacked(int m, float alpha, float[] a, int aOff, int lda, PackedMatrix b, float beta,
                                   float[] c, int cOff, int ldc) {
        if (b == null) throw new IllegalArgumentException("sgemmPacked: B is null");
        int n = b.n, k = b.k;
        checkShape("sgemmPacked", m, n, k, false, lda, false, Math.max(1, n), ldc);
        checkOperand("sgemmPacked", "A", a, aOff, m, k, lda);
        checkOperand("sgemmPacked", "C", c, cOff, m, n, ldc);
        GemmEngine e = engine;
        if (b.engine == e) e.sgemmPacked(m, alpha, a, aOff, lda, b, beta, c, cOff, ldc);
        else e.sgemm(false, false, m, n, k, alpha, a, aOff, lda, b.unpack(), 0, n, beta, c, cOff, ldc); // another width's layout
    }

    /** The engine in use, which {@link PackedMatrix} packs for. */
    static GemmEngine engine() {
        return engine;
    }

    /** Floats per widened panel of B in the half-precision GEMMs: 128 KiB, which stays in L2 while it is used. */
    static final int HALF_PANEL_FLOATS = 1 << 15;

    /**
     * Up to this many rows of A (decoding, prompts, small batches), bfloat16 B is read by dot kernels that widen each
     * value in registers ({@link QuantizedGemm}); the widened panels of the packed GEMM pay off only for more rows.
     */
    static final int HALF_DOT_MAX_ROWS = 256;

    private static void sgemmHalfB(String op, boolean bf16, int m, int n, int k, float[] a, int aOff, int lda,
                                   java.lang.foreign.MemorySegment b, long bOff, int ldb, float beta, float[] c, int cOff,
                                   int ldc) {
        checkShape(op, m, n, k, false, lda, true, ldb, ldc);
        checkOperand(op, "A", a, aOff, m, k, lda);
        checkOperand(op, "C", c, cOff, m, n, ldc);
        if (m == 0 || n == 0) return;
        if (k > 0) {
            if (b == null) throw new IllegalArgumentException(op + ": B is null but holds " + n + " x " + k);
            long end = bOff + 2L * ((long) (n - 1) * ldb + k);
            if (bOff < 0 || end > b.byteSize())
                throw new IllegalArgumentException(op + ": B (stored " + n + " x " + k + ", ldb " + ldb + ") at byte " + bOff
                        + " spans bytes [" + bOff + ", " + end + ") but the segment has " + b.byteSize());
        }
        if (bf16 && m <= HALF_DOT_MAX_ROWS) { // decoding: stream B once, each value widened in registers
            QuantizedGemm.bf16(m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        // Rows of B per panel: enough to fill the panel, at least 8 so the micro-kernel sees whole tiles.
        int rows = Math.min(n, Math.max(8, HALF_PANEL_FLOATS / Math.max(1, k)));
        float[] panel = new float[rows * k];
        for (int j0 = 0; j0 < n; j0 += rows) {
            int nb = Math.min(rows, n - j0);
            for (int j = 0; j < nb; j++)
                HalfFloats.widen(bf16, b, bOff + 2L * (long) (j0 + j) * ldb, panel, j * k, k);
            engine.sgemm(false, true, m, nb, k, 1f, a, aOff, lda, panel, 0, k, beta, c, cOff + j0, ldc);
        }
    }

    /**
     * Test and benchmark hook: computes with {@code bits}-wide vectors (128, 256 or 512) from now on, or with the
     * default width when {@code bits} is 0. Each width runs its own compiled copy of the engine.
     */
    static synchronized void setVectorBits(int bits) {
        if (bits == 0) {
            engine = DEFAULT;
            return;
        }
        var species = VectorWidth.floatSpecies(bits);
        int slot = Integer.numberOfTrailingZeros(bits >> 7);
        if (FORCED[slot] == null) FORCED[slot] = GemmKernel.withSpecies(species);
        engine = FORCED[slot];
    }

    /** The vector width in bits that {@link #sgemm} computes with now. */
    static int vectorBits() {
        return engine.vectorBits();
    }

    /** Describes the engine in use (width, tile, block sizes), for benchmark reports. */
    static String describe() {
        return engine.toString();
    }

    private static void checkShape(String op, int m, int n, int k, boolean transA, int lda, boolean transB, int ldb,
                                   int ldc) {
        if (m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException(op + ": sizes must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        int minA = Math.max(1, transA ? m : k), minB = Math.max(1, transB ? k : n), minC = Math.max(1, n);
        if (m == 0 || n == 0) return; // nothing is read or written: leading dimensions do not matter
        if (lda < minA && k > 0) throw new IllegalArgumentException(op + ": lda " + lda + " < " + minA + " (transA=" + transA
                + ", m=" + m + ", k=" + k + ")");
        if (ldb < minB && k > 0) throw new IllegalArgumentException(op + ": ldb " + ldb + " < " + minB + " (transB=" + transB
                + ", k=" + k + ", n=" + n + ")");
        if (ldc < minC) throw new IllegalArgumentException(op + ": ldc " + ldc + " < " + minC + " (n=" + n + ")");
    }

    /** Checks that a stored rows x cols matrix with leading dimension ld at offset off lies inside x. */
    private static void checkOperand(String op, String name, float[] x, long off, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) return;
        if (x == null) throw new IllegalArgumentException(op + ": " + name + " is null but holds " + rows + " x " + cols);
        long end = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || end > x.length)
            throw new IllegalArgumentException(op + ": " + name + " (stored " + rows + " x " + cols + ", ld " + ld
                    + ") at offset " + off + " spans [" + off + ", " + end + ") but the array has " + x.length);
    }
}
