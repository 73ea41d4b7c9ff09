package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Sums are defined by IEEE operations in a fixed order (so a run does not change with JIT timing) and keep
 * their digits over long inputs. This pins the definition exactly: a return to reduceLanes or to one float
 * accumulator shows up here, not as an irreproducible or drifting run.
 */
class ReproducibleKernelsTest {
    private static final int LANES = Elementwise.S.length();

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 3);
        return a;
    }

    /** Per block of SUM_BLOCK: per-lane float partial sums, added in lane order in float; blocks and tail in double. */
    private static float blockLaneSum(float[] a, int n) {
        int bound = n - n % LANES;
        double s = 0;
        for (int block = 0; block < bound; block += Elementwise.SUM_BLOCK) {
            float[] lanes = new float[LANES];
            for (int i = block; i < Math.min(bound, block + Elementwise.SUM_BLOCK); i++) lanes[i % LANES] += a[i];
            float laneSum = 0;
            for (float l : lanes) laneSum += l;
            s += laneSum;
        }
        for (int i = bound; i < n; i++) s += a[i];
        return (float) s;
    }

    @Test
    void sumIsTheBlockedLaneOrderSum() {
        for (int n : new int[] {0, 1, LANES - 1, LANES, 3 * LANES + 5, 1000, 1024, 4097, 10_000}) {
            float[] a = random(n, n);
            assertEquals(blockLaneSum(a, n), Elementwise.sum(a, 0, 1, n), 0f, "sum of " + n);
        }
    }

    @Test
    void longSumsKeepTheirDigits() {
        // 4M copies of 0.1f: float accumulators drift by far more than 1e-6 relative
        int n = 1 << 22;
        float[] a = new float[n];
        Arrays.fill(a, 0.1f);
        assertEquals(n * (double) 0.1f, Elementwise.sum(a, 0, 1, n), 1e-6 * n * 0.1);
    }
}
