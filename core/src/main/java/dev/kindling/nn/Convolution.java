package dev.kindling.nn;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.Im2col;
import dev.kindling.kernels.Parallel;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * conv2d as one fused op: per image and group, im2col then one GEMM ({@code weight [Og, K] x col [K, oh*ow]}),
 * with the images split over the kernel threads. Backward uses the same column matrix (recomputed, not kept:
 * it is kh*kw times larger than the input): dW += dy col^T, dcol = W^T dy then col2im. A 1x1 convolution with
 * stride 1 and no padding skips im2col (the input already is the column matrix).
 */
final class Convolution {
    /**
     * Weight-gradient partial sums cover this many images each and are added in a fixed order, so the result
     * does not depend on how the images were split over threads.
     */
    static final int IMAGES_PER_PARTIAL = 4;

    private Convolution() {}

    /** The values of a tensor as a contiguous FLOAT32 array starting at index 0. */
    static float[] values(Tensor t) {
        Tensor c = t.to(DType.FLOAT32).contiguous();
        float[] a = (float[]) c.storageArray();
        int n = c.numel(), o = c.storageOffset();
        return o == 0 && a.length == n ? a : Arrays.copyOfRange(a, o, o + n);
    }

    static int outSize(String op, String what, int in, int padTotal, int dil, int k, int stride) {
        int span = dil * (k - 1) + 1;
        if (in + padTotal < span)
            throw new IllegalArgumentException(op + ": " + what + " input size " + in + " plus padding " + padTotal
                    + " is smaller than the kernel extent " + span + " (kernel " + k + ", dilation " + dil + ")");
        return (in + padTotal - span) / stride + 1;
    }

    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int sh, int sw, int padTop, int padBottom, int padLeft,
                         int padRight, int dh, int dw, int groups) {
        DType half = Autocast.dtype();
        if (half != null) { // 16-bit inputs, FLOAT32 accumulation in the GEMM, a 16-bit output
            Tensor xh = Autocast.cast(x), wh = Autocast.cast(weight), bh = Autocast.cast(bias);
            try (var off = Autocast.disabled()) {
                return conv2d(xh, wh, bh, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw, groups).to(half);
            }
        }
        String op = "conv2d";
        if (x.dim() != 4)
            throw new IllegalArgumentException(op + ": input must be [N, C, H, W], got shape " + Arrays.toString(x.shape()));
        if (weight.dim() != 4)
            throw new IllegalArgumentException(op + ": weight must be [O, C/groups, kh, kw], got shape " + Arrays.toString(weight.shape()));
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1)
            throw new IllegalArgumentException(op + ": stride and dilation must be >= 1, got stride [" + sh + ", " + sw
                    + "], dilation [" + dh + ", " + dw + "]");
        if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0)
            throw new IllegalArgumentException(op + ": padding must be >= 0, got [" + padTop + ", " + padBottom + ", " + padLeft + ", " + padRight + "]");
        int n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        int o = weight.size(0), cg = weight.size(1), kh = weight.size(2), kw = weight.size(3);
        if (groups < 1 || c % groups != 0 || o % groups != 0)
            throw new IllegalArgumentException(op + ": groups " + groups + " must divide input channels " + c + " and output channels " + o);
        if (cg * groups != c)
            throw new IllegalArgumentException(op + ": weight " + Arrays.toString(weight.shape()) + " expects " + cg * groups
                    + " input channels (groups " + groups + ") but the input " + Arrays.toString(x.shape()) + " has " + c);
        if (bias != null && (bias.dim() != 1 || bias.size(0) != o))
            throw new IllegalArgumentException(op + ": bias must be [" + o + "], got shape " + Arrays.toString(bias.shape()));
        int oh = outSize(op, "height", h, padTop + padBottom, dh, kh, sh), ow = outSize(op, "width", w, padLeft + padRight, dw, kw, sw);
        int og = o / groups, k = cg * kh * kw, ohw = oh * ow, hw = h * w;
        boolean direct = kh == 1 && kw == 1 && sh == 1 && sw == 1 && padTop + padBottom + padLeft + padRight == 0;

        float[] xa = values(x), wa = values(weight), ba = bias == null ? null : values(bias);
        float[] y = new float[n * o * ohw];
        long costPerImage = 2L * o * k * ohw;
        Parallel.forRange(n, costPerImage, (from, to) -> {
            float[] col = direct ? null : new float[k * ohw];
            for (int img = from; img < to; img++) {
                for (int g = 0; g < groups; g++) {
                    int xOff = (img * c + g * cg) * hw, yOff = (img * o + g * og) * ohw;
                    if (!direct) Im2col.im2col(xa, xOff, cg, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, col);
                    Gemm.sgemm(false, false, og, ohw, k, 1f, wa, g * og * k, k, direct ? xa : col, direct ? xOff : 0, ohw,
                            0f, y, yOff, ohw);
                }
                if (ba != null) {
                    for (int ch = 0; ch < o; ch++) {
                        int base = (img * o + ch) * ohw;
                        float b = ba[ch];
                        for (int i = 0; i < ohw; i++) y[base + i] += b;
                    }
                }
            }
        });
        Tensor out = Tensor.wrap(y, n, o, oh, ow);
        int[] xs = x.shape(), ws = weight.shape();
        return Tensor.customOp(op, out, gOut -> {
            float[] ga = values(gOut);
            boolean needX = x.requiresGrad(), needW = weight.requiresGrad(), needB = bias != null && bias.requiresGrad();
            float[] dx = needX ? new float[n * c * hw] : null;
            int parts = (n + IMAGES_PER_PARTIAL - 1) / IMAGES_PER_PARTIAL;
            float[][] dwParts = new float[parts][];
            if (needX || needW) {
                Parallel.forRange(parts, costPerImage * IMAGES_PER_PARTIAL * 2, (from, to) -> {
                    float[] col = direct || !needW ? null : new float[k * ohw];
                    float[] dcol = direct || !needX ? null : new float[k * ohw];
                    for (int p = from; p < to; p++) {
                        float[] dwp = needW ? new float[o * k] : null;
                        for (int img = p * IMAGES_PER_PARTIAL; img < Math.min(n, (p + 1) * IMAGES_PER_PARTIAL); img++) {
                            for (int g = 0; g < groups; g++) {
                                int xOff = (img * c + g * cg) * hw, gOff = (img * o + g * og) * ohw;
                                if (needW) {
                                    if (!direct) Im2col.im2col(xa, xOff, cg, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, col);
                                    // dW_g [Og, K] += dy_g [Og, ohw] x col^T [ohw, K]
                                    Gemm.sgemm(false, true, og, k, ohw, 1f, ga, gOff, ohw, direct ? xa : col, direct ? xOff : 0, ohw,
                                            1f, dwp, g * og * k, k);
                                }
                                if (needX) {
                                    // dcol [K, ohw] = W_g^T [K, Og] x dy_g [Og, ohw]
                                    Gemm.sgemm(true, false, k, ohw, og, 1f, wa, g * og * k, k, ga, gOff, ohw,
                                            0f, direct ? dx : dcol, direct ? xOff : 0, ohw);
                                    if (!direct) Im2col.col2im(dcol, cg, h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, dx, xOff);
                                }
                            }
                        }
                        dwParts[p] = dwp;
                    }
                });
            }
            float[] dwa = null;
            if (needW) {
                dwa = parts == 0 ? new float[o * k] : dwParts[0];
                for (int p = 1; p < parts; p++) {
                    float[] q = dwParts[p];
                    for (int i = 0; i < dwa.length; i++) dwa[i] += q[i];
                }
            }
            float[] db = null;
            if (needB) {
                db = new float[o];
                for (int img = 0; img < n; img++) {
                    for (int ch = 0; ch < o; ch++) {
                        int base = (img * o + ch) * ohw;
                        float s = 0;
                        for (int i = 0; i < ohw; i++) s += ga[base + i];
                        db[ch] += s;
                    }
                }
            }
            return new Tensor[] {dx == null ? null : Tensor.wrap(dx, xs), dwa == null ? null : Tensor.wrap(dwa, ws),
                    db == null ? null : Tensor.wrap(db, o)};
        }, x, weight, bias);
    }
}
