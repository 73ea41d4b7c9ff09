package dev.kindling.nn;

import dev.kindling.kernels.ConvEpilogue;
import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.Im2col;
import dev.kindling.kernels.MaxPool;
import dev.kindling.kernels.Parallel;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.SavedBuffers;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * conv2d as one fused op: per image and group, im2col then one GEMM ({@code weight [Og, K] x col [K, oh*ow]}),
 * then bias (and, for {@link #conv2dRelu}, ReLU) while the image's output is still in cache; the images are
 * split over the kernel threads. Backward recomputes the column matrices (not kept: they are kh*kw times larger
 * than the input): dcol = W^T dy then col2im; and dW' += dy rows, where rows is the transposed column matrix built
 * from the channels-last image ({@link Im2col#im2row}), so that the GEMM packs it by plain copies; its columns
 * run over (tap, channel), so dW' is permuted to [O, C/groups, kh, kw] once at the end. A 1x1 convolution with
 * stride 1 and no padding skips im2col (the input already is the column matrix). Column matrices live in
 * per-thread scratch ({@link ConvScratch}), so a step allocates only the tensors it returns. With a 2x2 max-pool
 * after the ReLU ({@link #conv2dReluPool}), each image is pooled right after its GEMM and backward scatters the
 * pooled gradient back into that image's scratch plane before masking it; the unpooled output and the maxima's
 * positions are {@link SavedBuffers}, back in the pool once backward has run.
 */
final class Convolution {
    /**
     * Weight- and bias-gradient partial sums: the images are cut into this many contiguous runs (fewer for
     * small batches), whatever the thread count, and the runs' sums are added in order, so the result does not
     * depend on how the runs were split over threads.
     */
    static final int PARTIALS = 8;

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
        return conv2d("conv2d", x, weight, bias, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw, groups, false, false);
    }

    /** relu(conv2d(...)) as one op: see {@link Functional#conv2dRelu}. */
    static Tensor conv2dRelu(Tensor x, Tensor weight, Tensor bias, int sh, int sw, int padTop, int padBottom, int padLeft,
                             int padRight, int dh, int dw, int groups) {
        return conv2d("conv2dRelu", x, weight, bias, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw, groups, true, false);
    }

    /** maxPool2d(relu(conv2d(...)), 2, 2) as one op: see {@link Functional#conv2dReluMaxPool2d}. */
    static Tensor conv2dReluPool(Tensor x, Tensor weight, Tensor bias, int sh, int sw, int padTop, int padBottom, int padLeft,
                                 int padRight, int dh, int dw, int groups) {
        return conv2d("conv2dReluMaxPool2d", x, weight, bias, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw, groups, true, true);
    }

    private static Tensor conv2d(String op, Tensor x, Tensor weight, Tensor bias, int sh, int sw, int padTop, int padBottom,
                                 int padLeft, int padRight, int dh, int dw, int groups, boolean relu, boolean pool) {
        DType half = Autocast.dtype();
        if (half != null) { // 16-bit inputs, FLOAT32 accumulation in the GEMM, a 16-bit output
            Tensor xh = Autocast.cast(x), wh = Autocast.cast(weight), bh = Autocast.cast(bias);
            try (var off = Autocast.disabled()) {
                return conv2d(op, xh, wh, bh, sh, sw, padTop, padBottom, padLeft, padRight, dh, dw, groups, relu, pool).to(half);
            }
        }
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
        if (pool && (oh < 2 || ow < 2))
            throw new IllegalArgumentException(op + ": the convolution's output " + oh + "x" + ow + " is smaller than the 2x2 pooling window");
        var g = new Geometry(n, c, h, w, o, groups, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow);

        float[] xa = values(x), wa = values(weight), ba = bias == null ? null : values(bias);
        // the GEMMs write every element of y; pooled, y is a buffer only backward reads (the ReLU mask)
        float[] y = pool ? SavedBuffers.floats(n * o * g.ohw()) : (float[]) Tensor.empty(n * o * g.ohw()).storageArray();
        // W^T per group, so that the GEMM packs its A operand by vector copies (the transposed-A path) instead of
        // gathering six rows of W at a time
        float[] wt = transposeGroups(wa, groups, g.og(), g.k(), ConvScratch.get(ConvScratch.WEIGHT_T, o * g.k()));
        // with pooling, each image's output planes are pooled right after its GEMM, while they are in cache; the
        // position of each maximum is kept for backward
        int pooledSize = n * o * (oh / 2) * (ow / 2);
        Pooled pooled = pool ? new Pooled(oh / 2, ow / 2, (float[]) Tensor.empty(pooledSize).storageArray(), SavedBuffers.ints(pooledSize)) : null;
        Parallel.forRange(n, g.costPerImage(), (from, to) -> forward(g, xa, wt, ba, relu, pooled, y, from, to));
        Tensor out = pool ? Tensor.wrap(pooled.y(), n, o, pooled.oh(), pooled.ow()) : Tensor.wrap(y, n, o, oh, ow);
        int[] xs = x.shape(), ws = weight.shape();
        Tensor result = Tensor.customOp(op, out, gOut -> {
            boolean needX = x.requiresGrad(), needW = weight.requiresGrad(), needB = bias != null && bias.requiresGrad();
            float[] ga = values(gOut);
            float[] dx = needX ? (float[]) Tensor.zeros(n * c * h * w).storageArray() : null; // col2im adds into it
            int parts = Math.min(n, PARTIALS), ok = o * g.k();
            // the weight-gradient partials live in this thread's scratch, part p at p * ok: zeroed, then accumulated
            float[] dwParts = needW ? ConvScratch.get(ConvScratch.WEIGHT_PARTS, parts * ok) : null;
            if (needW) Arrays.fill(dwParts, 0, parts * ok, 0f);
            float[][] dbParts = new float[parts][];
            if (needX || needW || needB) {
                Parallel.forRange(parts, g.costPerImage() * 2 * n / Math.max(1, parts), (from, to) -> {
                    for (int p = from; p < to; p++) {
                        float[] dbp = needB ? new float[o] : null;
                        backward(g, xa, wa, y, ga, relu, pooled, (int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts),
                                dwParts, p * ok, dbp, dx);
                        dbParts[p] = dbp;
                    }
                });
            }
            if (needW) for (int p = 1; p < parts; p++) for (int i = 0; i < ok; i++) dwParts[i] += dwParts[p * ok + i];
            return new Tensor[] {dx == null ? null : Tensor.wrap(dx, xs), needW ? Tensor.wrap(tapsLast(dwParts, o, cg, kh * kw), ws) : null,
                    needB ? Tensor.wrap(sumParts(dbParts, o), o) : null};
        }, x, weight, bias);
        return pool ? SavedBuffers.attach(result, y, pooled.arg()) : result;
    }

    /** A 2x2, stride-2 max-pooling of the convolution's output: oh x ow pooled planes y, and each maximum's position. */
    private record Pooled(int oh, int ow, float[] y, int[] arg) {
        int ohw() { return oh * ow; }
    }

    /** The sizes of one convolution. k is the column-matrix height per group, ohw its width. */
    private record Geometry(int n, int c, int h, int w, int o, int groups, int kh, int kw, int sh, int sw, int padTop,
                            int padLeft, int dh, int dw, int oh, int ow) {
        int cg() { return c / groups; }
        int og() { return o / groups; }
        int k() { return cg() * kh * kw; }
        int ohw() { return oh * ow; }
        int hw() { return h * w; }
        long costPerImage() { return 2L * o * k() * ohw(); }

        /** 1x1, stride 1, no padding: the input planes already are the column matrix. */
        boolean direct() {
            return kh == 1 && kw == 1 && sh == 1 && sw == 1 && padTop == 0 && padLeft == 0 && oh == h && ow == w;
        }

        void im2col(float[] xa, int xOff, float[] col) {
            Im2col.im2col(xa, xOff, cg(), h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, col);
        }

        void im2row(float[] xt, float[] rows) {
            Im2col.im2row(xt, cg(), h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, rows);
        }

        void col2im(float[] dcol, float[] dx, int dxOff) {
            Im2col.col2im(dcol, cg(), h, w, kh, kw, sh, sw, padTop, padLeft, dh, dw, oh, ow, dx, dxOff);
        }
    }

    /** Output images [from, to): per group im2col and one GEMM, then bias and ReLU over the image while it is in cache. */
    private static void forward(Geometry g, float[] xa, float[] wt, float[] ba, boolean relu, Pooled pool, float[] y, int from, int to) {
        int og = g.og(), k = g.k(), ohw = g.ohw(), cg = g.cg(), hw = g.hw(), o = g.o();
        boolean direct = g.direct();
        float[] col = direct ? null : ConvScratch.get(ConvScratch.COL, k * ohw);
        for (int img = from; img < to; img++) {
            for (int gi = 0; gi < g.groups(); gi++) {
                int xOff = (img * g.c() + gi * cg) * hw, yOff = (img * o + gi * og) * ohw;
                if (!direct) g.im2col(xa, xOff, col);
                // y_g [Og, ohw] = W_g [Og, K] x col [K, ohw], W_g given transposed ([K, Og])
                Gemm.sgemm(true, false, og, ohw, k, 1f, wt, gi * og * k, og, direct ? xa : col, direct ? xOff : 0, ohw,
                        0f, y, yOff, ohw);
            }
            if (ba != null || relu)
                for (int ch = 0; ch < o; ch++) ConvEpilogue.biasRelu(y, (img * o + ch) * ohw, ohw, ba == null ? 0f : ba[ch], relu);
            if (pool != null)
                for (int ch = 0; ch < o; ch++) {
                    int plane = img * o + ch;
                    MaxPool.pool2x2(y, plane * ohw, g.ow(), pool.y(), pool.arg(), plane * pool.ohw(), pool.oh(), pool.ow());
                }
        }
    }

    /**
     * Backward over images [from, to): accumulates dW' (columns in (tap, channel) order) into dwp at dwOff and db
     * into dbp (each may be null), and writes those images' dx (null when not needed). With relu, the incoming gradient
     * is first masked by y &gt; 0.
     */
    private static void backward(Geometry g, float[] xa, float[] wa, float[] y, float[] ga, boolean relu, Pooled pool, int from, int to,
                                 float[] dwp, int dwOff, float[] dbp, float[] dx) {
        int og = g.og(), k = g.k(), ohw = g.ohw(), cg = g.cg(), hw = g.hw(), o = g.o();
        boolean direct = g.direct();
        float[] xt = dwp == null ? null : ConvScratch.get(ConvScratch.CHANNELS_LAST, cg * hw);
        float[] rows = direct || dwp == null ? xt : ConvScratch.get(ConvScratch.ROWS, ohw * k);
        float[] dcol = direct || dx == null ? null : ConvScratch.get(ConvScratch.DCOL, k * ohw);
        float[] unpooled = pool != null ? ConvScratch.get(ConvScratch.UNPOOLED, o * ohw) : null;
        // the unpooled gradient is this thread's own scratch: masked in place
        float[] masked = !relu ? null : pool != null ? unpooled : ConvScratch.get(ConvScratch.GRAD, o * ohw);
        for (int img = from; img < to; img++) {
            float[] gy = ga;
            int gyOff = img * o * ohw, yOff = gyOff;
            if (pool != null) { // the pooled gradient back to the maxima's positions, zeros elsewhere
                Arrays.fill(unpooled, 0, o * ohw, 0f);
                int pohw = pool.ohw();
                int[] arg = pool.arg();
                for (int ch = 0; ch < o; ch++) {
                    int q0 = (img * o + ch) * pohw, plane = ch * ohw;
                    for (int q = 0; q < pohw; q++) unpooled[plane + arg[q0 + q]] += ga[q0 + q];
                }
                gy = unpooled;
                gyOff = 0;
            }
            if (relu || dbp != null) { // relu's gradient (dy where the output is positive) and db in one pass
                for (int ch = 0; ch < o; ch++) {
                    float s = ConvEpilogue.maskSum(relu ? y : null, yOff + ch * ohw, gy, gyOff + ch * ohw, relu ? masked : null, ch * ohw, ohw);
                    if (dbp != null) dbp[ch] += s;
                }
                if (relu) {
                    gy = masked;
                    gyOff = 0;
                }
            }
            for (int gi = 0; gi < g.groups(); gi++) {
                int xOff = (img * g.c() + gi * cg) * hw, gOff = gyOff + gi * og * ohw;
                if (dwp != null) {
                    Im2col.toChannelsLast(xa, xOff, cg, g.h(), g.w(), xt);
                    if (!direct) g.im2row(xt, rows);
                    // dW'_g [Og, K] += dy_g [Og, ohw] x rows [ohw, K]
                    Gemm.sgemm(false, false, og, k, ohw, 1f, gy, gOff, ohw, rows, 0, k, 1f, dwp, dwOff + gi * og * k, k);
                }
                if (dx != null) {
                    // dcol [K, ohw] = W_g^T [K, Og] x dy_g [Og, ohw] (W_g stored [Og, K]: the transposed-A path)
                    Gemm.sgemm(true, false, k, ohw, og, 1f, wa, gi * og * k, k, gy, gOff, ohw,
                            0f, direct ? dx : dcol, direct ? xOff : 0, ohw);
                    if (!direct) g.col2im(dcol, dx, xOff);
                }
            }
        }
    }

    /**
     * Rows of [taps, channels] (im2row's column order) to [channels, taps] (the weight's), for each of the rows of
     * dw (the first rowCount * channels * taps floats), into a new array.
     */
    private static float[] tapsLast(float[] dw, int rowCount, int channels, int taps) {
        int k = channels * taps;
        float[] out = (float[]) Tensor.empty(rowCount * k).storageArray(); // every element is written
        if (taps == 1 || channels == 1) {
            System.arraycopy(dw, 0, out, 0, rowCount * k);
            return out;
        }
        for (int r = 0; r < rowCount; r++)
            for (int t = 0; t < taps; t++)
                for (int c = 0; c < channels; c++) out[r * k + c * taps + t] = dw[r * k + t * channels + c];
        return out;
    }

    /** Per group, W_g [og, k] transposed to [k, og] into t, groups one after another. Returns t. */
    private static float[] transposeGroups(float[] wa, int groups, int og, int k, float[] t) {
        for (int gi = 0; gi < groups; gi++) {
            int base = gi * og * k;
            for (int r = 0; r < og; r++)
                for (int col = 0; col < k; col++) t[base + col * og + r] = wa[base + r * k + col];
        }
        return t;
    }

    /** parts[0] + parts[1] + ... in order (null parts, from empty runs, are skipped); zeros when there are none. */
    private static float[] sumParts(float[][] parts, int size) {
        float[] sum = null;
        for (float[] p : parts) {
            if (p == null) continue;
            if (sum == null) sum = p;
            else for (int i = 0; i < size; i++) sum[i] += p[i];
        }
        return sum == null ? new float[size] : sum;
    }
}
