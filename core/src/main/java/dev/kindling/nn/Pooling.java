package dev.kindling.nn;

import dev.kindling.kernels.MaxPool;
import dev.kindling.kernels.Parallel;
import dev.kindling.tensor.SavedBuffers;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/** Max, average and adaptive average pooling over the last two dims of [N, C, H, W] (or [C, H, W]), PyTorch semantics. */
final class Pooling {
    private Pooling() {}

    /** Output size of a pooling window, with PyTorch's ceil-mode rule (the last window must start inside the input or left padding). */
    static int outSize(String op, int in, int k, int s, int p, int d, boolean ceil) {
        if (k < 1 || s < 1 || d < 1 || p < 0)
            throw new IllegalArgumentException(op + ": kernel, stride and dilation must be >= 1 and padding >= 0, got kernel " + k
                    + ", stride " + s + ", padding " + p + ", dilation " + d);
        if (2 * p > k)
            throw new IllegalArgumentException(op + ": padding " + p + " must be at most half the kernel size " + k);
        int num = in + 2 * p - d * (k - 1) - 1;
        if (num < 0)
            throw new IllegalArgumentException(op + ": input size " + in + " with padding " + p + " is smaller than the window "
                    + (d * (k - 1) + 1));
        int out = (ceil ? Math.ceilDiv(num, s) : Math.floorDiv(num, s)) + 1;
        if (ceil && (out - 1) * s >= in + p) out--;
        return out;
    }

    private static int[] planes(String op, Tensor x) {
        if (x.dim() != 3 && x.dim() != 4)
            throw new IllegalArgumentException(op + ": input must be [N, C, H, W] or [C, H, W], got shape " + Arrays.toString(x.shape()));
        int h = x.size(-2), w = x.size(-1);
        return new int[] {h * w == 0 ? 0 : x.numel() / (h * w), h, w};
    }

    private static int[] outShape(Tensor x, int oh, int ow) {
        int[] s = x.shape().clone();
        s[s.length - 2] = oh;
        s[s.length - 1] = ow;
        return s;
    }

    static Tensor maxPool2d(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, boolean ceil) {
        String op = "maxPool2d";
        int[] pl = planes(op, x);
        int np = pl[0], h = pl[1], w = pl[2];
        int oh = outSize(op, h, kh, sh, ph, dh, ceil), ow = outSize(op, w, kw, sw, pw, dw, ceil), ohw = oh * ow, hw = h * w;
        float[] xa = Convolution.values(x), y = (float[]) Tensor.empty(np * ohw).storageArray(); // every element is written
        int[] arg = SavedBuffers.ints(np * ohw); // the input position (iy * w + ix) of each maximum, for backward
        // every window inside the input (no padding, no ceil-mode overhang): no bounds checks per tap
        boolean inside = ph == 0 && pw == 0 && (oh - 1) * sh + (kh - 1) * dh < h && (ow - 1) * sw + (kw - 1) * dw < w;
        boolean twoByTwo = inside && kh == 2 && kw == 2 && sh == 2 && sw == 2 && dh == 1 && dw == 1;
        Parallel.forRange(np, (long) ohw * kh * kw, (from, to) -> {
            for (int p = from; p < to; p++) {
                int base = p * hw;
                if (twoByTwo) {
                    MaxPool.pool2x2(xa, base, w, y, arg, p * ohw, oh, ow);
                    continue;
                }
                if (inside) {
                    for (int oy = 0; oy < oh; oy++) {
                        int q = p * ohw + oy * ow;
                        for (int ox = 0; ox < ow; ox++) {
                            int first = oy * sh * w + ox * sw, at = first;
                            float best = xa[base + first];
                            for (int i = 0; i < kh; i++) {
                                for (int j = 0; j < kw; j++) {
                                    int pos = first + i * dh * w + j * dw;
                                    float v = xa[base + pos];
                                    // NaN wins, as in PyTorch; selects rather than branches (random data mispredicts)
                                    boolean take = v > best | v != v;
                                    best = take ? v : best;
                                    at = take ? pos : at;
                                }
                            }
                            y[q + ox] = best;
                            arg[q + ox] = at;
                        }
                    }
                    continue;
                }
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int at = -1;
                        for (int i = 0; i < kh; i++) {
                            int iy = oy * sh - ph + i * dh;
                            if (iy < 0 || iy >= h) continue;
                            for (int j = 0; j < kw; j++) {
                                int ix = ox * sw - pw + j * dw;
                                if (ix < 0 || ix >= w) continue;
                                float v = xa[base + iy * w + ix];
                                // NaN wins and stays, as in PyTorch
                                if (at < 0 || v > best || v != v) {
                                    best = v;
                                    at = iy * w + ix;
                                }
                            }
                        }
                        int q = p * ohw + oy * ow + ox;
                        y[q] = best;
                        arg[q] = at;
                    }
                }
            }
        });
        int[] xs = x.shape();
        Tensor out = Tensor.customOp(op, Tensor.wrap(y, outShape(x, oh, ow)), g -> {
            float[] ga = Convolution.values(g), dx = (float[]) Tensor.zeros(np * hw).storageArray();
            Parallel.forRange(np, ohw, (from, to) -> {
                for (int p = from; p < to; p++)
                    for (int q = p * ohw; q < (p + 1) * ohw; q++) if (arg[q] >= 0) dx[p * hw + arg[q]] += ga[q];
            });
            return new Tensor[] {Tensor.wrap(dx, xs)};
        }, x);
        return SavedBuffers.attach(out, arg);
    }

    static Tensor avgPool2d(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, boolean ceil, boolean countIncludePad) {
        String op = "avgPool2d";
        int[] pl = planes(op, x);
        int np = pl[0], h = pl[1], w = pl[2];
        int oh = outSize(op, h, kh, sh, ph, 1, ceil), ow = outSize(op, w, kw, sw, pw, 1, ceil), ohw = oh * ow, hw = h * w;
        // window bounds and divisor per output position, shared by all planes
        int[] y0 = new int[oh], y1 = new int[oh], x0 = new int[ow], x1 = new int[ow];
        float[] inv = new float[ohw];
        for (int oy = 0; oy < oh; oy++) {
            int a = oy * sh - ph, b = Math.min(a + kh, h + ph);
            for (int ox = 0; ox < ow; ox++) {
                int c = ox * sw - pw, d = Math.min(c + kw, w + pw);
                int padded = (b - a) * (d - c);
                int inside = (Math.min(b, h) - Math.max(a, 0)) * (Math.min(d, w) - Math.max(c, 0));
                inv[oy * ow + ox] = 1f / (countIncludePad ? padded : inside);
                x0[ox] = Math.max(c, 0);
                x1[ox] = Math.min(d, w);
            }
            y0[oy] = Math.max(a, 0);
            y1[oy] = Math.min(b, h);
        }
        float[] xa = Convolution.values(x), y = new float[np * ohw];
        Parallel.forRange(np, (long) ohw * kh * kw, (from, to) -> {
            for (int p = from; p < to; p++) {
                int base = p * hw;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        float s = 0;
                        for (int iy = y0[oy]; iy < y1[oy]; iy++)
                            for (int ix = x0[ox]; ix < x1[ox]; ix++) s += xa[base + iy * w + ix];
                        y[p * ohw + oy * ow + ox] = s * inv[oy * ow + ox];
                    }
            }
        });
        int[] xs = x.shape();
        return Tensor.customOp(op, Tensor.wrap(y, outShape(x, oh, ow)), g -> {
            float[] ga = Convolution.values(g), dx = new float[np * hw];
            Parallel.forRange(np, (long) ohw * kh * kw, (from, to) -> {
                for (int p = from; p < to; p++) {
                    int base = p * hw;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++) {
                            float v = ga[p * ohw + oy * ow + ox] * inv[oy * ow + ox];
                            for (int iy = y0[oy]; iy < y1[oy]; iy++)
                                for (int ix = x0[ox]; ix < x1[ox]; ix++) dx[base + iy * w + ix] += v;
                        }
                }
            });
            return new Tensor[] {Tensor.wrap(dx, xs)};
        }, x);
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int oh, int ow) {
        String op = "adaptiveAvgPool2d";
        if (oh < 1 || ow < 1) throw new IllegalArgumentException(op + ": output size must be >= 1, got [" + oh + ", " + ow + "]");
        int[] pl = planes(op, x);
        int np = pl[0], h = pl[1], w = pl[2], hw = h * w, ohw = oh * ow;
        if (h == 0 || w == 0) throw new IllegalArgumentException(op + ": input shape " + Arrays.toString(x.shape()) + " has an empty plane");
        int[] y0 = new int[oh], y1 = new int[oh], x0 = new int[ow], x1 = new int[ow];
        for (int i = 0; i < oh; i++) { y0[i] = Math.floorDiv(i * h, oh); y1[i] = Math.ceilDiv((i + 1) * h, oh); }
        for (int i = 0; i < ow; i++) { x0[i] = Math.floorDiv(i * w, ow); x1[i] = Math.ceilDiv((i + 1) * w, ow); }
        float[] xa = Convolution.values(x), y = new float[np * ohw];
        Parallel.forRange(np, hw, (from, to) -> {
            for (int p = from; p < to; p++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        float s = 0;
                        for (int iy = y0[oy]; iy < y1[oy]; iy++)
                            for (int ix = x0[ox]; ix < x1[ox]; ix++) s += xa[p * hw + iy * w + ix];
                        y[p * ohw + oy * ow + ox] = s / ((y1[oy] - y0[oy]) * (x1[ox] - x0[ox]));
                    }
        });
        int[] xs = x.shape();
        return Tensor.customOp(op, Tensor.wrap(y, outShape(x, oh, ow)), g -> {
            float[] ga = Convolution.values(g), dx = new float[np * hw];
            Parallel.forRange(np, hw, (from, to) -> {
                for (int p = from; p < to; p++)
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++) {
                            float v = ga[p * ohw + oy * ow + ox] / ((y1[oy] - y0[oy]) * (x1[ox] - x0[ox]));
                            for (int iy = y0[oy]; iy < y1[oy]; iy++)
                                for (int ix = x0[ox]; ix < x1[ox]; ix++) dx[p * hw + iy * w + ix] += v;
                        }
            });
            return new Tensor[] {Tensor.wrap(dx, xs)};
        }, x);
    }
}
