package dev.kindling.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The loops that turn a 2-d convolution into a GEMM (im2col) and its gradient back into an image (col2im), on
 * row-major [C, H, W] float arrays. Row {@code (c * kh + i) * kw + j} of the column matrix holds, for every
 * output position {@code (oy, ox)}, the input value under kernel tap (i, j) of channel c, or 0 in the padding:
 * {@code x[c, oy * sh - padTop + i * dh, ox * sw - padLeft + j * dw]}. The matrix is {@code C*kh*kw} rows by
 * {@code oh*ow} columns, so that {@code weight [O, C*kh*kw] x col} is the convolution output [O, oh*ow].
 */
public final class Im2col {
    private static final VectorSpecies<Float> S = VectorWidth.floatSpecies();

    private Im2col() {}

    /**
     * Stride 1 with the output as wide as the input ("same" padding across): one column-matrix row is then the
     * input plane shifted by a constant, so it is copied as one run instead of row by row (rows of 16-32 floats
     * made the per-row calls and scalar tails most of the cost), and only the columns that wrapped around the
     * plane's edge are fixed up afterwards.
     */
    private static boolean flat(int sh, int sw, int w, int ow) {
        return sh == 1 && sw == 1 && ow == w;
    }

    /** Writes the column matrix of {@code channels} planes of size h x w starting at {@code x[xOff]} into {@code col[0..]}. */
    public static void im2col(float[] x, int xOff, int channels, int h, int w, int kh, int kw, int sh, int sw,
                              int padTop, int padLeft, int dh, int dw, int oh, int ow, float[] col) {
        if (flat(sh, sw, w, ow)) {
            im2colFlat(x, xOff, channels, h, w, kh, kw, padTop, padLeft, dh, dw, oh, col);
            return;
        }
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
     * from ({@code dx} must hold the values to add to, usually zeros). Entries read from the padding are dropped;
     * with stride 1 and the output as wide as the input, they may be overwritten with zeros in {@code col}.
     */
    public static void col2im(float[] col, int channels, int h, int w, int kh, int kw, int sh, int sw,
                              int padTop, int padLeft, int dh, int dw, int oh, int ow, float[] dx, int dxOff) {
        if (flat(sh, sw, w, ow)) {
            col2imFlat(col, channels, h, w, kh, kw, padTop, padLeft, dh, dw, oh, dx, dxOff);
            return;
        }
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

    /** {@link #im2col} when {@link #flat}: per row, one shifted copy of the plane, then zeros where it read padding. */
    private static void im2colFlat(float[] x, int xOff, int channels, int h, int w, int kh, int kw, int padTop,
                                   int padLeft, int dh, int dw, int oh, float[] col) {
        int hw = h * w, ohw = oh * w, r = 0;
        for (int c = 0; c < channels; c++) {
            int plane = xOff + c * hw;
            for (int i = 0; i < kh; i++) {
                int offH = i * dh - padTop, yLo = Math.clamp(-offH, 0, oh), yHi = Math.clamp(h - offH, yLo, oh);
                for (int j = 0; j < kw; j++, r++) {
                    int row = r * ohw, offW = j * dw - padLeft, shift = offH * w + offW;
                    // output t reads plane[t + shift]: copy the part of [yLo*w, yHi*w) whose source lies in the plane
                    int tLo = Math.max(yLo * w, -shift), tHi = Math.min(yHi * w, hw - shift);
                    Arrays.fill(col, row, row + yLo * w, 0f);
                    if (tLo < tHi) System.arraycopy(x, plane + tLo + shift, col, row + tLo, tHi - tLo);
                    Arrays.fill(col, row + yHi * w, row + ohw, 0f);
                    // what [tLo, tHi) leaves out of the valid rows, and the columns that wrapped, read padding
                    zeroWrapped(col, row, w, yLo, yHi, offW);
                    if (tLo > yLo * w) Arrays.fill(col, row + yLo * w, row + Math.min(tLo, yHi * w), 0f);
                    if (tHi < yHi * w) Arrays.fill(col, row + Math.max(tHi, yLo * w), row + yHi * w, 0f);
                }
            }
        }
    }

    /** Zeros, in rows [yLo, yHi) of a w-wide column-matrix row at {@code row}, the columns ox with ox + offW outside [0, w). */
    private static void zeroWrapped(float[] col, int row, int w, int yLo, int yHi, int offW) {
        int left = Math.clamp(-offW, 0, w), right = Math.clamp(w - offW, left, w);
        if (left == 0 && right == w) return;
        for (int y = yLo; y < yHi; y++) {
            int o = row + y * w;
            for (int ox = 0; ox < left; ox++) col[o + ox] = 0f;
            for (int ox = right; ox < w; ox++) col[o + ox] = 0f;
        }
    }

    /** {@link #col2im} when {@link #flat}: per row, zero the entries read from padding, then one shifted vector add. */
    private static void col2imFlat(float[] col, int channels, int h, int w, int kh, int kw, int padTop, int padLeft,
                                   int dh, int dw, int oh, float[] dx, int dxOff) {
        int hw = h * w, ohw = oh * w, r = 0, vl = S.length();
        for (int c = 0; c < channels; c++) {
            int plane = dxOff + c * hw;
            for (int i = 0; i < kh; i++) {
                int offH = i * dh - padTop, yLo = Math.clamp(-offH, 0, oh), yHi = Math.clamp(h - offH, yLo, oh);
                for (int j = 0; j < kw; j++, r++) {
                    int row = r * ohw, offW = j * dw - padLeft, shift = offH * w + offW;
                    if (offW <= -w || offW >= w) continue; // every column read padding
                    zeroWrapped(col, row, w, yLo, yHi, offW);
                    int tLo = Math.max(yLo * w, -shift), tHi = Math.min(yHi * w, hw - shift);
                    int t = tLo, src = row, dst = plane + shift;
                    for (; t + vl <= tHi; t += vl)
                        FloatVector.fromArray(S, dx, dst + t).add(FloatVector.fromArray(S, col, src + t)).intoArray(dx, dst + t);
                    for (; t < tHi; t++) dx[dst + t] += col[src + t];
                }
            }
        }
    }

    /**
     * The transposed column matrix ("im2row") of one image stored channels-last ([h, w, channels], see
     * {@link #toChannelsLast}) at {@code xt[0..]}: row {@code oy * ow + ox} of {@code rows} holds, at column
     * {@code (i * kw + j) * channels + c}, the input value under kernel tap (i, j) of channel c, or 0 in the
     * padding. As the B operand of the weight-gradient GEMM ({@code dW [O, K] += dy [O, oh*ow] x rows}) it is
     * packed by plain copies, where {@link #im2col}'s layout needs a transposing gather; and with dilation 1 the
     * kw taps of a row are one contiguous run of {@code kw * channels} floats of the input.
     */
    public static void im2row(float[] xt, int channels, int h, int w, int kh, int kw, int sh, int sw, int padTop,
                              int padLeft, int dh, int dw, int oh, int ow, float[] rows) {
        int k = kh * kw * channels, tap = kw * channels;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int dst = (oy * ow + ox) * k, ix0 = ox * sw - padLeft;
                for (int i = 0; i < kh; i++, dst += tap) {
                    int iy = oy * sh - padTop + i * dh;
                    if (iy < 0 || iy >= h) {
                        Arrays.fill(rows, dst, dst + tap, 0f);
                        continue;
                    }
                    int src = iy * w * channels;
                    if (dw == 1) {
                        int lo = Math.clamp(-ix0, 0, kw), hi = Math.clamp(w - ix0, lo, kw);
                        if (lo > 0) Arrays.fill(rows, dst, dst + lo * channels, 0f);
                        System.arraycopy(xt, src + (ix0 + lo) * channels, rows, dst + lo * channels, (hi - lo) * channels);
                        if (hi < kw) Arrays.fill(rows, dst + hi * channels, dst + tap, 0f);
                    } else {
                        for (int j = 0; j < kw; j++) {
                            int ix = ix0 + j * dw, d = dst + j * channels;
                            if (ix < 0 || ix >= w) Arrays.fill(rows, d, d + channels, 0f);
                            else System.arraycopy(xt, src + ix * channels, rows, d, channels);
                        }
                    }
                }
            }
        }
    }

    /** Copies {@code channels} planes of h x w at {@code x[xOff]} to channels-last order: out[(y * w + x) * channels + c]. */
    public static void toChannelsLast(float[] x, int xOff, int channels, int h, int w, float[] out) {
        int hw = h * w;
        // Blocks of 64 pixels, and four planes read side by side so that each pixel's four channels are written
        // together: one plane at a time over 16 pixels kept 32-64 read streams (planes 4 KiB apart, all in the same
        // L1 sets) open per block, which measured 2-2.5x slower on the small CNN's layers.
        for (int p0 = 0; p0 < hw; p0 += 64) {
            int p1 = Math.min(hw, p0 + 64), c = 0;
            for (; c + 4 <= channels; c += 4) {
                int s0 = xOff + c * hw, s1 = s0 + hw, s2 = s1 + hw, s3 = s2 + hw;
                for (int p = p0; p < p1; p++) {
                    int d = p * channels + c;
                    out[d] = x[s0 + p];
                    out[d + 1] = x[s1 + p];
                    out[d + 2] = x[s2 + p];
                    out[d + 3] = x[s3 + p];
                }
            }
            for (; c < channels; c++) {
                int src = xOff + c * hw;
                for (int p = p0; p < p1; p++) out[p * channels + c] = x[src + p];
            }
        }
    }
}
