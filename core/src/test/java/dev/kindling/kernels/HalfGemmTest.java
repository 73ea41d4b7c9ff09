package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.Half;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Gemm.sgemmBf16B / sgemmF16B against their scalar twin GemmReference.sgemmHalfB. */
@ExtendWith(TwoKernelThreads.class)
class HalfGemmTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** m, n, k: matrix-vector, off-tile sizes, k = 0, and n x k beyond one panel (several panels, a partial last one). */
    private static final int[][] SHAPES = {{1, 1, 1}, {1, 9, 17}, {13, 1, 7}, {3, 5, 0}, {9, 33, 17}, {5, 70, 600}, {2, 300, 130}, {9, 7, 64}, {300, 9, 40}};
    @ParameterizedTest(name = "bf16={0}")
    @ValueSource(booleans = {true, false})
    void matchesReferenceWithOffsetsStridesAndBeta(boolean bf16) {
        var rnd = new SplittableRandom(bf16 ? 1 : 2);
        try (Arena arena = Arena.ofConfined()) {
            for (int[] s : SHAPES) {
                for (float beta : new float[] {0f, 1f}) {
                    int m = s[0], n = s[1], k = s[2], lda = k + 2, ldb = k + 3, ldc = n + 1, aOff = 3, cOff = 2;
                    long bOff = 5; // odd: unaligned 16-bit reads, as in a safetensors file
                    float[] a = random(rnd, aOff + m * lda);
                    MemorySegment b = arena.allocate(bOff + 2L * Math.max(1, n * ldb));
                    for (int i = 0; i < n * ldb; i++) {
                        float v = (float) rnd.nextDouble(-1, 1);
                        b.set(LE, bOff + 2L * i, bf16 ? Half.floatToBf16(v) : Half.floatToF16(v));
                    }
                    float[] c = random(rnd, cOff + m * ldc), expected = c.clone();
                    GemmReference.sgemmHalfB(bf16, m, n, k, a, aOff, lda, b, bOff, ldb, beta, expected, cOff, ldc);
                    if (bf16) Gemm.sgemmBf16B(m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                    else Gemm.sgemmF16B(m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                    for (int i = 0; i < c.length; i++)
                        assertEquals(expected[i], c[i], 1e-4 * (1 + Math.abs(expected[i])), "m=" + m + " n=" + n + " k=" + k + " at " + i);
                }
            }
        }
    }

    @Test
    void widensExactly() {
        MemorySegment s = MemorySegment.ofArray(new byte[8]);
        s.set(LE, 0, Half.floatToBf16(-1.5f));
        s.set(LE, 2, Half.floatToBf16(Float.POSITIVE_INFINITY));
        s.set(LE, 4, Half.floatToF16(0.333f));
        float[] out = new float[3];
        HalfFloats.widen(true, s, 0, out, 0, 2);
        HalfFloats.widen(false, s, 4, out, 2, 1);
        assertEquals(-1.5f, out[0]);
        assertEquals(Float.POSITIVE_INFINITY, out[1]);
        assertEquals(Half.f16ToFloat(Half.floatToF16(0.333f)), out[2]);
    }

    @Test
    void operandOutsideTheSegmentNamesTheBytes() {
        MemorySegment b = MemorySegment.ofArray(new byte[2 * 4 * 3 - 2]);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemmBf16B(1, 4, 3, new float[3], 0, 3, b, 0, 3, 0f, new float[4], 0, 4));
        assertTrue(e.getMessage().contains("sgemmBf16B: B (stored 4 x 3, ldb 3) at byte 0 spans bytes [0, 24) but the segment has 22"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmF16B(2, 4, 3, new float[5], 0, 3, b, 0, 3, 0f, new float[8], 0, 4));
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        return x;
    }
}
