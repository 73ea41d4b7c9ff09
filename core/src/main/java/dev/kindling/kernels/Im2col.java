package dev.kindling.kernels;

import java.util.Arrays;

/**
 * The loops that turn a 2-d convolution into a GEMM (im2col) and its gradient back into an image (col2im), on
 * row-major [C, H, W] float arrays. Row {@code (c * kh + i) * kw + j} of the column matrix holds, for every
 * output position {@code (oy, ox)}, the input value under kernel tap (i, j) of channel c, or 0 in the padding:
 * {@code x[c, oy * sh - padTop + i * dh, ox * sw - padLeft + j * dw]}. The matrix is {@code C*kh*kw} rows by
 * {@code oh*ow} columns, so that {@code weight [O, C*kh*kw] x col} is the convolution output [O, oh*ow].
 */
public final class Im2col {
    private Im2col() {}

    /** Writes the column matrix of {@code channels} planes of size h x w starting at {@code x[xOff]} into {@code col[0..]}. */
    public static void im2col(float[] x, int xOff, int channels, int h, int w, int kh, int kw, int sh, int sw,
                              int padTop, int padLeft, int dh, int dw, int oh, int ow, float[] col) {
        int ohw = oh * ow, r = 0;
        for (int c = 0; c < channels; c++) {
            int plane = xOff + c * h * w;
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++, r++) {
                    int row = r * ohw, offH = i * dh - padTop, offW = j * dw - padLeft;
                    // the output columns whose input column lies inside [0, w) (stride 1: one contiguous run)
                    int lo = sw == 1 ? Math.clamp(-offW, 0, ow) : 0, hi = sw == 1 ? Math.clamp(w - offW, lo, ow) : ow;
                    for (int y = 0; y < oh; y++) {
                        int iy = y * sh + offH, dst = row + y * ow;
                        if (iy < 0 || iy >= h) {
                            Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        int src = plane + iy * w + offW;
                        if (sw == 1) {
                            if (lo > 0) Arrays.fill(col, dst, dst + lo, 0f);
                            System.arraycopy(x, src + lo, col, dst + lo, hi - lo);
                            if (hi < ow) Arrays.fill(col, dst + hi, dst + ow, 0f);
                        } else {
                            for (int xo = 0; xo < ow; xo++) {
                                int ix = xo * sw + offW;
                                col[dst + xo] = ix >= 0 && ix < w ? x[src + xo * sw] : 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The adjoint of {@link #im2col}: adds every entry of the column matrix to the input position it was read
     * from ({@code dx} must hold the values to add to, usually zeros). Entries read from the padding are dropped.
     */
    public static void col2im(float[] col, int channels, int h, int w, int kh, int kw, int sh, int sw,
                              int padTop, int padLeft, int dh, int dw, int oh, int ow, float[] dx, int dxOff) {
        int ohw = oh * ow, r = 0;
        for (int c = 0; c < channels; c++) {
            int plane = dxOff + c * h * w;
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++, r++) {
                    int row = r * ohw, offH = i * dh - padTop, offW = j * dw - padLeft;
                    int lo = sw == 1 ? Math.clamp(-offW, 0, ow) : 0, hi = sw == 1 ? Math.clamp(w - offW, lo, ow) : ow;
                    for (int y = 0; y < oh; y++) {
                        int iy = y * sh + offH;
                        if (iy < 0 || iy >= h) continue;
                        int src = row + y * ow, dst = plane + iy * w + offW;
                        if (sw == 1) {
                            for (int xo = lo; xo < hi; xo++) dx[dst + xo] += col[src + xo];
                        } else {
                            for (int xo = 0; xo < ow; xo++) {
                                int ix = xo * sw + offW;
                                if (ix >= 0 && ix < w) dx[dst + xo * sw] += col[src + xo];
                            }
                        }
                    }
                }
            }
        }
    }
}
