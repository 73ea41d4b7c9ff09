package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link MaxPool#pool2x2} against its scalar twin, and the twin against PyTorch's rule on ties, signed zeros and NaN. */
class MaxPoolTest {
    private static final float[] SPECIAL = {0f, -0f, 1f, 1f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2f};

    @Test
    void vectorPathMatchesScalarTwin() {
        Random rnd = new Random(3);
        // output widths below, at and above a vector length (and not a multiple of it), odd plane widths and offsets
        int half = VectorWidth.floatSpecies().length() / 2; // rows half a vector wide pool two rows per vector
        for (int[] s : new int[][] {{1, 1, 2}, {3, 5, 11}, {2, 16, 33}, {4, 17, 34}, {2, 40, 80}, {3, 7, 15},
                {4, half, 2 * half}, {5, half, 2 * half + 3}, {1, half, 2 * half}}) {
            int oh = s[0], ow = s[1], w = s[2], h = 2 * oh + 1, xOff = 5, out = 3;
            float[] x = new float[xOff + h * w];
            for (int i = 0; i < x.length; i++)
                x[i] = rnd.nextInt(4) == 0 ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (float) rnd.nextInt(7) - 3; // many ties
            float[] y = new float[out + oh * ow], y2 = y.clone();
            int[] arg = new int[y.length], arg2 = new int[y.length];
            MaxPool.pool2x2(x, xOff, w, y, arg, out, oh, ow);
            MaxPool.pool2x2Scalar(x, xOff, w, y2, arg2, out, oh, ow);
            String what = "oh " + oh + " ow " + ow + " w " + w;
            assertArrayEquals(arg2, arg, what);
            for (int i = 0; i < y.length; i++)
                assertEquals(Float.floatToRawIntBits(y2[i]) , Float.floatToRawIntBits(y[i]), what + " at " + i);
        }
    }

    @Test
    void scalarTwinFollowsPyTorch() {
        // {taps in scan order..., expected position}: a later tap wins only when strictly larger or NaN
        float nan = Float.NaN;
        float[][] cases = {{1, 2, 0, 0, 1}, {2, 1, 2, 0, 0}, {0, -0f, 0, 0, 0}, {-0f, 0, -1, -1, 0}, {1, nan, 3, 2, 1},
                {nan, 1, 2, 3, 0}, {nan, nan, 1, 1, 1}, {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, -5, -6, 2},
                {Float.POSITIVE_INFINITY, 3, Float.POSITIVE_INFINITY, 4, 0}, {-1e-30f, -2e-30f, -3, -4, 0}};
        for (float[] c : cases) {
            float[] x = {c[0], c[1], c[2], c[3]}, y = new float[1];
            int[] arg = new int[1];
            MaxPool.pool2x2Scalar(x, 0, 2, y, arg, 0, 1, 1);
            int[] pos = {0, 1, 2, 3};
            assertEquals(pos[(int) c[4]], arg[0], java.util.Arrays.toString(c));
            assertEquals(Float.floatToRawIntBits(x[arg[0]]), Float.floatToRawIntBits(y[0]), java.util.Arrays.toString(c));
        }
    }
}
