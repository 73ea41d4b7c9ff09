package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Single-precision GEMM, row-major: C = alpha * op(A) op(B) + beta * C. */
public final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Gemm() {}

    /** op(A) is m x k, op(B) is k x n; transA means A is stored k x m. beta 0 ignores C's old contents. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        if (transB) {
            // this simple kernel streams rows of B: lay op(B) out row-major once
            float[] bt = new float[k * n];
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) bt[p * n + j] = b[bOff + j * ldb + p];
            sgemm(transA, false, m, n, k, alpha, a, aOff, lda, bt, 0, n, beta, c, cOff, ldc);
            return;
        }
        Parallel.forRange(m, (long) n * k, (from, to) -> {
            float[] bRow = transB ? new float[n] : null;
            for (int i = from; i < to; i++) {
                int ci = cOff + i * ldc;
                if (beta == 0) java.util.Arrays.fill(c, ci, ci + n, 0f);
                else if (beta != 1) for (int j = 0; j < n; j++) c[ci + j] *= beta;
                for (int p = 0; p < k; p++) {
                    float av = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
                    if (av == 0) continue;
                    int bo;
                    float[] br;
                    if (transB) {
                        for (int j = 0; j < n; j++) bRow[j] = b[bOff + j * ldb + p];
                        br = bRow;
                        bo = 0;
                    } else {
                        br = b;
                        bo = bOff + p * ldb;
                    }
                    int j = 0, bound = S.loopBound(n);
                    var va = FloatVector.broadcast(S, av);
                    for (; j < bound; j += S.length())
                        FloatVector.fromArray(S, br, bo + j).fma(va, FloatVector.fromArray(S, c, ci + j)).intoArray(c, ci + j);
                    for (; j < n; j++) c[ci + j] += av * br[bo + j];
                }
            }
        });
    }

    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                                    float beta, float[] c, int cOff, int ldc, long strideC) {
        for (int i = 0; i < batch; i++)
            sgemm(transA, transB, m, n, k, alpha, a, (int) (aOff + i * strideA), lda, b, (int) (bOff + i * strideB), ldb,
                    beta, c, (int) (cOff + i * strideC), ldc);
    }
}
