package dev.kindling.kernels;

/**
 * The scalar twin of {@link Gemm}: the same contract computed by a plain triple loop with double accumulation.
 * It is the oracle of Gemm's tests and the statement of what Gemm computes; it is far too slow for real work.
 */
public final class GemmReference {
    private GemmReference() {}

    /** Same contract as {@link Gemm#sgemm}, without argument checks beyond what array indexing does. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; alpha != 0f && p < k; p++) { // alpha 0: A and B are not read (BLAS)
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    sum += (double) av * bv;
                }
                int o = cOff + i * ldc + j;
                c[o] = beta == 0f ? (float) (alpha * sum) : (float) (alpha * sum + (double) beta * c[o]);
            }
        }
    }

    /**
     * Same contract as {@link Gemm#sgemmBf16B} ({@code bf16}) or {@link Gemm#sgemmF16B}, each element of B
     * widened on its own with the JDK's conversions.
     */
    public static void sgemmHalfB(boolean bf16, int m, int n, int k, float[] a, int aOff, int lda,
                                  java.lang.foreign.MemorySegment b, long bOff, int ldb, float beta, float[] c, int cOff,
                                  int ldc) {
        var le = java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    short bits = b.get(le, bOff + 2L * ((long) j * ldb + p));
                    float bv = bf16 ? Float.intBitsToFloat((bits & 0xFFFF) << 16) : Float.float16ToFloat(bits);
                    sum += (double) a[aOff + i * lda + p] * bv;
                }
                int o = cOff + i * ldc + j;
                c[o] = beta == 0f ? (float) sum : (float) (sum + (double) beta * c[o]);
            }
        }
    }

    /** Same contract as {@link Gemm#sgemmBatched}. */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                                    float beta, float[] c, int cOff, int ldc, long strideC) {
        for (int i = 0; i < batch; i++)
            sgemm(transA, transB, m, n, k, alpha, a, (int) (aOff + i * strideA), lda, b, (int) (bOff + i * strideB), ldb,
                    beta, c, (int) (cOff + i * strideC), ldc);
    }
}
