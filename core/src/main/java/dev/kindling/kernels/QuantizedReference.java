package dev.kindling.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The scalar twin of {@link QuantizedGemm}: each weight decoded on its own ({@link Quantization#code} times its
 * group's scale) and summed in double. The oracle of the quantized kernels' tests, far too slow for real work.
 */
public final class QuantizedReference {
    private QuantizedReference() {}

    /** Same contract as {@link QuantizedGemm#matmul}, without argument checks. */
    public static void matmul(int bits, int groupSize, int m, int n, int k, float[] a, int aOff, int lda, MemorySegment w,
                              long wOff, float[] scales, int scalesOff, float beta, float[] c, int cOff, int ldc) {
        long rb = Quantization.rowBytes(bits, k);
        int groups = Quantization.groups(k, groupSize);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float wv = scales[scalesOff + j * groups + p / groupSize] * Quantization.code(bits, w, wOff + j * rb, p);
                    sum += (double) a[aOff + i * lda + p] * wv;
                }
                int o = cOff + i * ldc + j;
                c[o] = beta == 0f ? (float) sum : (float) (sum + (double) beta * c[o]);
            }
        }
    }
}
