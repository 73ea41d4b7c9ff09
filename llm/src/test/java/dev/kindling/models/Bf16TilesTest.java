package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kindling.kernels.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Bf16Tiles against a scalar double-precision product on odd shapes, column ranges, strides and both betas. */
class Bf16TilesTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void matchesScalarProductOnOddShapes() {
        int saved = Parallel.threads();
        Parallel.setThreads(2); // the larger shapes split their columns over two threads
        try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
            var rnd = new SplittableRandom(5);
            // m: below, at and past the 6-row tile; k: tails of every vector width; n: tails of the 4-column tile
            int[][] shapes = {{1, 7, 3}, {5, 16, 9}, {6, 37, 8}, {13, 100, 23}, {16, 384, 70}};
            int i = 0;
            for (int[] s : shapes) {
                for (Arena arena : new Arena[] {shared, confined}) {
                    int m = s[0], k = s[1], n = s[2], ldx = k + 3, ldw = k + 1, ldc = n + 5, w0 = 2;
                    float beta = i++ % 2 == 0 ? 0f : 1f;
                    float[] x = new float[m * ldx];
                    for (int j = 0; j < x.length; j++) x[j] = (float) (rnd.nextDouble() * 2 - 1);
                    MemorySegment w = arena.allocate(2L * n * ldw + 6); // starts 6 bytes in: an unaligned wOff
                    short[] bits = new short[n * ldw];
                    for (int j = 0; j < bits.length; j++) {
                        bits[j] = (short) (Float.floatToIntBits((float) (rnd.nextDouble() * 2 - 1)) >>> 16);
                        w.set(LE, 6 + 2L * j, bits[j]);
                    }
                    float[] c = new float[m * ldc + 1];
                    for (int j = 0; j < c.length; j++) c[j] = j % 7 - 3;
                    float[] before = c.clone();
                    // columns [w0 + 1, w0 + n - 1) of an output whose column w0 is W's row 0
                    int lo = w0 + 1, hi = w0 + n - 1;
                    Bf16Tiles.matmul(m, k, x, 0, ldx, w, 6, ldw, w0, lo, hi, beta, c, 1, ldc);
                    for (int r = 0; r < m; r++)
                        for (int col = 0; col < ldc; col++) {
                            int o = 1 + r * ldc + col;
                            if (col < lo || col >= hi) {
                                assertEquals(before[o], c[o], 0f, "untouched column " + col + " row " + r);
                                continue;
                            }
                            double acc = beta * before[o];
                            for (int p = 0; p < k; p++)
                                acc += (double) x[r * ldx + p] * Float.intBitsToFloat((bits[(col - w0) * ldw + p] & 0xFFFF) << 16);
                            assertEquals(acc, c[o], 1e-5 * (k + 1), "m " + m + " k " + k + " n " + n + " row " + r + " column " + col);
                        }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
