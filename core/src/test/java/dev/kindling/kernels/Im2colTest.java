package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Im2col} against the textbook formula, on odd shapes that take the shifted-run path and the row-by-row one. */
class Im2colTest {
    /** {channels, h, w, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw}. */
    private static final int[][] CASES = {
            {3, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // "same" 3x3: shifted runs
            {2, 6, 5, 4, 3, 1, 1, 1, 2, 1, 1, 1, 1},   // even kernel, asymmetric "same" padding
            {2, 7, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},   // dilation 2, "same"
            {1, 4, 3, 3, 5, 1, 1, 0, 0, 2, 2, 1, 1},   // as wide as the input, but fewer rows (no vertical padding)
            {2, 3, 2, 3, 5, 1, 1, 1, 1, 2, 2, 1, 1},   // kernel wider than the input: whole rows read padding
            {2, 7, 6, 3, 2, 2, 1, 1, 0, 0, 1, 1, 2},   // vertical stride 2: row by row
            {3, 6, 7, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},   // horizontal stride 2
            {1, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1},   // no padding, narrower output
            {4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},   // 1x1
            {9, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // channels past a multiple of 4, planes past 64 pixels
    };

    @Test
    void im2colAndCol2imMatchTheFormula() {
        Random rnd = new Random(1);
        for (int[] k : CASES) {
            int c = k[0], h = k[1], w = k[2], kh = k[3], kw = k[4], sh = k[5], sw = k[6];
            int pt = k[7], pb = k[8], pl = k[9], pr = k[10], dh = k[11], dw = k[12];
            int oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1, ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
            int rows = c * kh * kw, ohw = oh * ow, xOff = 3;
            float[] x = new float[xOff + c * h * w + 2];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[rows * ohw];
            float[] col = new float[rows * ohw];
            java.util.Arrays.fill(col, Float.NaN); // every entry must be written
            for (int ch = 0, r = 0; ch < c; ch++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++, r++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++) {
                                int iy = oy * sh - pt + i * dh, ix = ox * sw - pl + j * dw;
                                expected[r * ohw + oy * ow + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w
                                        ? x[xOff + (ch * h + iy) * w + ix] : 0f;
                            }
            Im2col.im2col(x, xOff, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, col);
            String what = java.util.Arrays.toString(k);
            assertArrayEquals(expected, col, "im2col " + what);

            float[] g = new float[rows * ohw];
            for (int i = 0; i < g.length; i++) g[i] = rnd.nextFloat() * 2 - 1;
            float[] dxExpected = new float[x.length], dx = new float[x.length];
            for (int i = 0; i < dx.length; i++) dx[i] = dxExpected[i] = i; // col2im adds to what is there
            for (int ch = 0, r = 0; ch < c; ch++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++, r++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++) {
                                int iy = oy * sh - pt + i * dh, ix = ox * sw - pl + j * dw;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                    dxExpected[xOff + (ch * h + iy) * w + ix] += g[r * ohw + oy * ow + ox];
                            }
            Im2col.col2im(g, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, dx, xOff);
            assertArrayEquals(dxExpected, dx, 1e-6f, "col2im " + what);

            // im2row of the channels-last image: the column matrix transposed, columns in (tap, channel) order
            float[] xt = new float[c * h * w];
            Im2col.toChannelsLast(x, xOff, c, h, w, xt);
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++) assertEquals(x[xOff + ch * h * w + p], xt[p * c + ch], "channels-last " + what);
            float[] byRow = new float[ohw * rows];
            java.util.Arrays.fill(byRow, Float.NaN);
            Im2col.im2row(xt, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, byRow);
            float[] rowsExpected = new float[ohw * rows];
            for (int ch = 0; ch < c; ch++)
                for (int t = 0; t < kh * kw; t++)
                    for (int p = 0; p < ohw; p++) rowsExpected[p * rows + t * c + ch] = expected[(ch * kh * kw + t) * ohw + p];
            assertArrayEquals(rowsExpected, byRow, "im2row " + what);
        }
    }
}
