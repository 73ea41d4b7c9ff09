package dev.kindling.kernels;

/** One compiled copy of the GEMM engine, bound to one vector species (see {@link GemmKernel}). */
interface GemmEngine {
    /** Width of the float vectors this engine computes with, in bits. */
    int vectorBits();

    /** {@link Gemm#sgemm} without argument checks, parallel over {@link Parallel}. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
               float beta, float[] c, int cOff, int ldc);

    /** {@link Gemm#sgemmBatched} without argument checks. */
    void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                      float beta, float[] c, int cOff, int ldc, long strideC);

    /** Packs op(B), k x n, into this engine's panel layout once (see {@link PackedMatrix}); arguments are checked. */
    PackedMatrix pack(boolean transB, int k, int n, float[] b, int bOff, int ldb);

    /** {@link Gemm#sgemmPacked} without argument checks, for a matrix this engine packed. */
    void sgemmPacked(int m, float alpha, float[] a, int aOff, int lda, PackedMatrix b, float beta, float[] c, int cOff, int ldc);
}
