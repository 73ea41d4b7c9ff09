package dev.kindling.nn;

import dev.kindling.kernels.Norms;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Softmax;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * Stateless functions behind the layers and losses (PyTorch's torch.nn.functional). Cross-entropy, layer
 * norm and RMS norm are fused: one pass forward and a hand-written backward instead of a chain of ops.
 */
public final class Functional {
    private Functional() {}

    /** How a loss reduces its per-element values. */
    public enum Reduction { MEAN, SUM, NONE }

    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return x.linear(weight, bias);
    }

    public static Tensor dropout(Tensor x, double p, boolean training, Generator g) {
        return x.dropout(p, training, g);
    }

    /** A zero-filled array of n floats from the tensor allocator (which recycles the arrays backward is done with). */
    private static float[] newFloats(int n) {
        return (float[]) Tensor.zeros(n).storageArray();
    }

    /** A float array for a kernel that writes every element (no zero fill). */
    private static float[] emptyFloats(int n) {
        return (float[]) Tensor.empty(n).storageArray();
    }

    /** A contiguous FLOAT32 view and its array/offset. */
    private record Raw(Tensor t, float[] a, int o) {
        static Raw of(Tensor x) {
            Tensor c = x.to(DType.FLOAT32).contiguous();
            return new Raw(c, (float[]) c.storageArray(), c.storageOffset());
        }
    }

    /**
     * Cross-entropy between logits [N, C] (or [C]) and class indices [N] (INT64), with ignoreIndex and label
     * smoothing as in PyTorch. MEAN divides by the number of targets that are not ignored.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex, double labelSmoothing, Reduction reduction) {
        if (logits.dim() == 1) logits = logits.unsqueeze(0);
        if (target.dim() == 0) target = target.reshape(1);
        if (logits.dim() != 2)
            throw new IllegalArgumentException("crossEntropy: logits must be [N, C] or [C], got shape " + Arrays.toString(logits.shape()));
        if (target.dtype().isFloatingPoint())
            throw new IllegalArgumentException("crossEntropy: target must hold class indices (INT64), got " + target.dtype());
        int n = logits.size(0), c = logits.size(1);
        if (target.dim() != 1 || target.size(0) != n)
            throw new IllegalArgumentException("crossEntropy: target shape " + Arrays.toString(target.shape())
                    + " does not match logits shape " + Arrays.toString(logits.shape()) + " (expected [" + n + "])");
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new IllegalArgumentException("crossEntropy: labelSmoothing must be in [0, 1], got " + labelSmoothing);
        long[] t = target.toLongArray();
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (t[i] == ignoreIndex) continue;
            if (t[i] < 0 || t[i] >= c)
                throw new IndexOutOfBoundsException("crossEntropy: target " + t[i] + " at position " + i + " is out of range for " + c + " classes");
            count++;
        }
        Raw x = Raw.of(logits);
        float eps = (float) labelSmoothing;
        float[] lse = new float[n];
        float[] loss = new float[n];
        Parallel.forRange(n, 3L * c, (from, to) -> {
            for (int i = from; i < to; i++) {
                if (t[i] == ignoreIndex) continue;
                int o = x.o + i * c;
                float l = Softmax.logSumExp(x.a, o, c);
                lse[i] = l;
                double v = (1 - eps) * (l - x.a[o + (int) t[i]]);
                if (eps > 0) {
                    double s = 0;
                    for (int j = 0; j < c; j++) s += x.a[o + j];
                    v += eps * (l - s / c);
                }
                loss[i] = (float) v;
            }
        });
        Tensor out;
        if (reduction == Reduction.NONE) {
            out = Tensor.wrap(loss, n);
        } else {
            double s = 0;
            for (float v : loss) s += v;
            out = Tensor.scalar((float) (reduction == Reduction.MEAN ? (count == 0 ? Double.NaN : s / count) : s));
        }
        int cnt = count;
        Tensor logitsIn = logits;
        return Tensor.customOp("crossEntropy", out, g -> {
            float[] gv = g.toFloatArray();
            float[] dx = newFloats(n * c);
            Parallel.forRange(n, 2L * c, (from, to) -> {
                for (int i = from; i < to; i++) {
                    if (t[i] == ignoreIndex) continue;
                    float w = reduction == Reduction.NONE ? gv[i] : reduction == Reduction.MEAN ? gv[0] / cnt : gv[0];
                    int o = x.o + i * c, q = i * c;
                    for (int j = 0; j < c; j++) dx[q + j] = w * ((float) Math.exp(x.a[o + j] - lse[i]) - eps / c);
                    dx[q + (int) t[i]] -= w * (1 - eps);
                }
            });
            return new Tensor[] {Tensor.wrap(dx, logitsIn.shape()).reshape(logitsIn.shape()), null};
        }, logitsIn, target);
    }

    /** Cross-entropy with PyTorch's defaults (mean, no ignore index, no smoothing). */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        return crossEntropy(logits, target, -100, 0, Reduction.MEAN);
    }

    /** Negative log likelihood of log-probabilities [N, C] at class indices [N]. */
    public static Tensor nllLoss(Tensor logProbs, Tensor target, int ignoreIndex, Reduction reduction) {
        if (logProbs.dim() != 2 || target.dim() != 1 || target.size(0) != logProbs.size(0))
            throw new IllegalArgumentException("nllLoss: expects input [N, C] and target [N], got " + Arrays.toString(logProbs.shape())
                    + " and " + Arrays.toString(target.shape()));
        long[] t = target.toLongArray();
        long[] safe = new long[t.length];
        float[] keep = new float[t.length];
        int count = 0;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == ignoreIndex) continue;
            if (t[i] < 0 || t[i] >= logProbs.size(1))
                throw new IndexOutOfBoundsException("nllLoss: target " + t[i] + " at position " + i + " is out of range for " + logProbs.size(1) + " classes");
            safe[i] = t[i];
            keep[i] = 1;
            count++;
        }
        Tensor picked = logProbs.gather(1, Tensor.wrapLongs(safe, t.length, 1)).reshape(-1).mul(Tensor.wrap(keep, t.length)).neg();
        return switch (reduction) {
            case NONE -> picked;
            case SUM -> picked.sum();
            case MEAN -> picked.sum().div(count);
        };
    }

    private static Tensor reduce(Tensor v, Reduction r) {
        return switch (r) {
            case NONE -> v;
            case SUM -> v.sum();
            case MEAN -> v.mean();
        };
    }

    private static void sameShape(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": input shape " + Arrays.toString(a.shape()) + " and target shape "
                    + Arrays.toString(b.shape()) + " differ");
    }

    public static Tensor mseLoss(Tensor input, Tensor target, Reduction r) {
        sameShape("mseLoss", input, target);
        Tensor d = input.sub(target);
        return reduce(d.mul(d), r);
    }

    public static Tensor l1Loss(Tensor input, Tensor target, Reduction r) {
        sameShape("l1Loss", input, target);
        return reduce(input.sub(target).abs(), r);
    }

    /** Binary cross-entropy on logits, stable form: max(x,0) - x*y + log(1 + exp(-|x|)); posWeight may be null. */
    public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor posWeight, Reduction r) {
        sameShape("binaryCrossEntropyWithLogits", logits, target);
        Tensor y = target.to(DType.FLOAT32);
        Tensor softplusNeg = logits.abs().neg().exp().add(1).log().add(logits.neg().relu()); // log(1+exp(-x))
        Tensor loss;
        if (posWeight == null) {
            loss = logits.mul(y.neg().add(1)).add(softplusNeg);
        } else {
            Tensor lw = posWeight.sub(1).mul(y).add(1);
            loss = logits.mul(y.neg().add(1)).add(lw.mul(softplusNeg));
        }
        return reduce(loss, r);
    }

    /** Layer norm over the last {@code normalizedShape.length} dims; weight and bias may be null. */
    public static Tensor layerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        int[] xs = x.shape();
        int k = normalizedShape.length;
        if (k == 0 || xs.length < k || !Arrays.equals(Arrays.copyOfRange(xs, xs.length - k, xs.length), normalizedShape))
            throw new IllegalArgumentException("layerNorm: input shape " + Arrays.toString(xs) + " does not end with normalized shape "
                    + Arrays.toString(normalizedShape));
        int n = 1;
        for (int d : normalizedShape) n *= d;
        checkAffine("layerNorm", weight, normalizedShape);
        checkAffine("layerNorm", bias, normalizedShape);
        int rows = n == 0 ? 0 : x.numel() / n;
        Raw rx = Raw.of(x);
        float[] w = weight == null ? null : weight.contiguous().toFloatArray();
        float[] b = bias == null ? null : bias.contiguous().toFloatArray();
        float[] y = emptyFloats(x.numel()), mean = new float[rows], rstd = new float[rows];
        Norms.layerNormForward(rx.a, rx.o, y, 0, rows, n, w, b, (float) eps, mean, rstd);
        int nn = n;
        return Tensor.customOp("layerNorm", Tensor.wrap(y, xs), g -> {
            Raw rg = Raw.of(g);
            float[] dx = x.requiresGrad() ? emptyFloats(x.numel()) : null;
            float[] dw = weight != null && weight.requiresGrad() ? new float[nn] : null;
            float[] db = bias != null && bias.requiresGrad() ? new float[nn] : null;
            Norms.layerNormBackward(rg.a, rg.o, rx.a, rx.o, rows, nn, w, mean, rstd, dx, dw, db);
            return new Tensor[] {dx == null ? null : Tensor.wrap(dx, xs),
                    dw == null ? null : Tensor.wrap(dw, normalizedShape), db == null ? null : Tensor.wrap(db, normalizedShape)};
        }, x, weight, bias);
    }

    /** RMS norm over the last dim: x / sqrt(mean(x^2) + eps) * weight (weight may be null). */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        int[] xs = x.shape();
        if (xs.length == 0) throw new IllegalArgumentException("rmsNorm: input must have at least 1 dim");
        int n = xs[xs.length - 1];
        checkAffine("rmsNorm", weight, new int[] {n});
        int rows = n == 0 ? 0 : x.numel() / n;
        Raw rx = Raw.of(x);
        float[] w = weight == null ? null : weight.contiguous().toFloatArray();
        float[] y = new float[x.numel()], rr = new float[rows];
        Norms.rmsNormForward(rx.a, rx.o, y, 0, rows, n, w, (float) eps, rr);
        return Tensor.customOp("rmsNorm", Tensor.wrap(y, xs), g -> {
            Raw rg = Raw.of(g);
            float[] dx = x.requiresGrad() ? new float[x.numel()] : null;
            float[] dw = weight != null && weight.requiresGrad() ? new float[n] : null;
            Norms.rmsNormBackward(rg.a, rg.o, rx.a, rx.o, rows, n, w, rr, dx, dw);
            return new Tensor[] {dx == null ? null : Tensor.wrap(dx, xs), dw == null ? null : Tensor.wrap(dw, n)};
        }, x, weight);
    }

    private static void checkAffine(String op, Tensor p, int[] shape) {
        if (p != null && !Arrays.equals(p.shape(), shape))
            throw new IllegalArgumentException(op + ": weight/bias shape " + Arrays.toString(p.shape()) + " should be " + Arrays.toString(shape));
    }

    /**
     * softmax(q k^T / sqrt(d) + mask) v over [..., T, d] inputs. {@code mask} (optional) broadcasts to
     * [..., Tq, Tk]: BOOL/0-1 masks keep positions where non-zero; {@code causal} hides future positions
     * (aligned at the end when Tq &lt; Tk, as with a KV cache). Without a mask and with equal batch dims this
     * runs the fused kernel, which keeps no [Tq, Tk] tensor for backward.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2 || q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2))
            throw new IllegalArgumentException("scaledDotProductAttention: shapes q " + Arrays.toString(q.shape()) + ", k "
                    + Arrays.toString(k.shape()) + ", v " + Arrays.toString(v.shape()) + " do not fit [..., T, d]");
        int tq = q.size(-2), tk = k.size(-2);
        if (causal && tq > tk)
            throw new IllegalArgumentException("scaledDotProductAttention: causal attention needs Tq <= Tk, got " + tq + " and " + tk);
        DType half = Autocast.dtype();
        if (half != null) { // 16-bit inputs and output; scores, softmax and sums stay FLOAT32 inside
            Tensor qh = Autocast.cast(q), kh = Autocast.cast(k), vh = Autocast.cast(v);
            try (var off = Autocast.disabled()) {
                return scaledDotProductAttention(qh, kh, vh, mask, causal).to(half);
            }
        }
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        boolean sameBatch = qs.length == ks.length && ks.length == vs.length
                && Arrays.equals(Arrays.copyOf(qs, qs.length - 2), Arrays.copyOf(ks, ks.length - 2))
                && Arrays.equals(Arrays.copyOf(ks, ks.length - 2), Arrays.copyOf(vs, vs.length - 2));
        if (mask == null && sameBatch && q.size(-1) == v.size(-1)) return fusedAttention(q, k, v, causal);
        Tensor scores = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(q.size(-1)));
        if (mask != null) scores = scores.maskedFill(mask.eq(0), Float.NEGATIVE_INFINITY);
        if (causal) scores = scores.maskedFill(Tensor.ones(tq, tk).tril(tk - tq).eq(0), Float.NEGATIVE_INFINITY);
        return scores.softmax(-1).matmul(v);
    }

    private static Tensor fusedAttention(Tensor q, Tensor k, Tensor v, boolean causal) {
        int[] qs = q.shape();
        int tq = q.size(-2), tk = k.size(-2), d = q.size(-1);
        int bh = tq == 0 ? 0 : q.numel() / (tq * d);
        Raw rq = Raw.of(q), rk = Raw.of(k), rv = Raw.of(v);
        float[] qa = offsetFree(rq), ka = offsetFree(rk), va = offsetFree(rv);
        float[] out = newFloats(q.numel()), lse = new float[bh * tq];
        float scale = (float) (1 / Math.sqrt(d));
        dev.kindling.kernels.Attention.forward(qa, ka, va, out, lse, bh, tq, tk, d, scale, causal);
        return Tensor.customOp("scaledDotProductAttention", Tensor.wrap(out, qs), g -> {
            Raw rg = Raw.of(g);
            float[] ga = offsetFree(rg);
            float[] dq = newFloats(qa.length), dk = newFloats(ka.length), dv = newFloats(va.length);
            dev.kindling.kernels.Attention.backward(qa, ka, va, out, lse, ga, dq, dk, dv, bh, tq, tk, d, scale, causal);
            return new Tensor[] {Tensor.wrap(dq, qs), Tensor.wrap(dk, k.shape()), Tensor.wrap(dv, v.shape())};
        }, q, k, v);
    }

    /**
     * Causal multi-head self-attention straight from a packed projection, as GPT-2's {@code c_attn} produces it:
     * qkv [B, T, 3C] holds q, k and v side by side, each split into {@code heads} heads of C / heads columns.
     * Equals splitting qkv in three, viewing each as (B, heads, T, d), {@link #scaledDotProductAttention} with
     * {@code causal} and merging the heads back to [B, T, C]; but the kernel reads the heads in place and its
     * backward writes the [B, T, 3C] gradient directly, without the transposing copies and the three zero-filled
     * slice gradients that path costs.
     * <p>Shape: [B, T, 3C] → [B, T, C].
     */
    public static Tensor causalSelfAttention(Tensor qkv, int heads) {
        if (qkv.dim() != 3 || heads <= 0 || qkv.size(2) % (3 * heads) != 0)
            throw new IllegalArgumentException("causalSelfAttention: expects qkv [B, T, 3C] with C divisible by " + heads
                    + " heads, got shape " + Arrays.toString(qkv.shape()));
        DType half = Autocast.dtype();
        if (half != null) { // 16-bit input and output; scores, softmax and sums stay FLOAT32 inside
            Tensor qh = Autocast.cast(qkv);
            try (var off = Autocast.disabled()) {
                return causalSelfAttention(qh, heads).to(half);
            }
        }
        int b = qkv.size(0), t = qkv.size(1), c = qkv.size(2) / 3, d = c / heads;
        float[] in = offsetFree(Raw.of(qkv));
        float[] out = newFloats(b * t * c), lse = new float[b * heads * t];
        float scale = (float) (1 / Math.sqrt(d));
        dev.kindling.kernels.Attention.forwardPacked(in, out, lse, b, t, heads, d, scale);
        return Tensor.customOp("causalSelfAttention", Tensor.wrap(out, b, t, c), g -> {
            float[] ga = offsetFree(Raw.of(g));
            float[] dqkv = newFloats(in.length);
            dev.kindling.kernels.Attention.backwardPacked(in, out, lse, ga, dqkv, b, t, heads, d, scale);
            return new Tensor[] {Tensor.wrap(dqkv, b, t, 3 * c)};
        }, qkv);
    }

    /** The values of a contiguous view starting at index 0 (copies only when the view starts later or is shorter). */
    private static float[] offsetFree(Raw r) {
        int n = r.t.numel();
        if (r.o == 0 && r.a.length == n) return r.a;
        return Arrays.copyOfRange(r.a, r.o, r.o + n);
    }

    // ---------------------------------------------------------------- convolution, pooling, batch norm

    /**
     * 2-d convolution of [N, C, H, W] with weight [O, C/groups, kh, kw] and optional bias [O] (PyTorch's
     * F.conv2d): output [N, O, oh, ow] with {@code oh = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1}.
     * Arrays hold {height, width}. Computed as im2col + GEMM over the images in parallel; backward likewise.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups) {
        int[] s = pair("conv2d", "stride", stride), p = pair("conv2d", "padding", padding), d = pair("conv2d", "dilation", dilation);
        return Convolution.conv2d(x, weight, bias, s[0], s[1], p[0], p[0], p[1], p[1], d[0], d[1], groups);
    }

    /** conv2d with the same stride and padding in both dims, no dilation, one group. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return Convolution.conv2d(x, weight, bias, stride, stride, padding, padding, padding, padding, 1, 1, 1);
    }

    /**
     * {@code relu(conv2d(x, weight, bias, stride, padding, dilation, groups))} as one op: the ReLU is applied to
     * each image's output while it is still in cache and its gradient is folded into the convolution's backward,
     * so the pre-activation tensor and relu's own passes and allocations disappear. Same result as the two ops.
     */
    public static Tensor conv2dRelu(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups) {
        int[] s = pair("conv2dRelu", "stride", stride), p = pair("conv2dRelu", "padding", padding), d = pair("conv2dRelu", "dilation", dilation);
        return Convolution.conv2dRelu(x, weight, bias, s[0], s[1], p[0], p[0], p[1], p[1], d[0], d[1], groups);
    }

    /**
     * {@code maxPool2d(relu(conv2d(x, weight, bias, stride, padding, dilation, groups)), 2, 2, 0)} as one op, the
     * conv-ReLU-pool block of VGG-style networks: each image's output planes are pooled while still in cache, and
     * backward routes the pooled gradient to the maxima inside the convolution's own pass instead of through a
     * full-size gradient tensor. Output [N, O, oh / 2, ow / 2] (floor); same result as the three ops.
     *
     * @throws IllegalArgumentException as {@link #conv2d} does, or if the convolution's output is smaller than 2x2
     */
    public static Tensor conv2dReluMaxPool2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation,
                                             int groups) {
        String op = "conv2dReluMaxPool2d";
        int[] s = pair(op, "stride", stride), p = pair(op, "padding", padding), d = pair(op, "dilation", dilation);
        return Convolution.conv2dReluPool(x, weight, bias, s[0], s[1], p[0], p[0], p[1], p[1], d[0], d[1], groups);
    }

    /**
     * conv2d with stride 1 and padding {@code "same"} (output as large as the input; for an even kernel extent
     * the extra row/column of padding goes at the bottom/right, as in PyTorch) or {@code "valid"} (none).
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, String padding, int[] dilation, int groups) {
        int[] d = pair("conv2d", "dilation", dilation);
        if (weight.dim() != 4)
            throw new IllegalArgumentException("conv2d: weight must be [O, C/groups, kh, kw], got shape " + Arrays.toString(weight.shape()));
        switch (padding) {
            case "valid" -> { return Convolution.conv2d(x, weight, bias, 1, 1, 0, 0, 0, 0, d[0], d[1], groups); }
            case "same" -> {
                int th = d[0] * (weight.size(2) - 1), tw = d[1] * (weight.size(3) - 1);
                return Convolution.conv2d(x, weight, bias, 1, 1, th / 2, th - th / 2, tw / 2, tw - tw / 2, d[0], d[1], groups);
            }
            default -> throw new IllegalArgumentException("conv2d: padding must be \"same\" or \"valid\", got \"" + padding + "\"");
        }
    }

    /** {height, width} from a 1- or 2-element array. */
    static int[] pair(String op, String what, int[] v) {
        if (v == null || v.length < 1 || v.length > 2)
            throw new IllegalArgumentException(op + ": " + what + " needs 1 or 2 values, got " + Arrays.toString(v));
        return v.length == 1 ? new int[] {v[0], v[0]} : v.clone();
    }

    /**
     * Max pooling over the last two dims of [N, C, H, W] or [C, H, W] (PyTorch's F.max_pool2d): windows of
     * {@code kernel} every {@code stride}, padded with -inf by {@code padding} (at most half the kernel), taps
     * {@code dilation} apart; {@code ceilMode} rounds the output size up. The position of each maximum is kept
     * for backward, which routes each gradient to it (NaN counts as the maximum, as in PyTorch).
     */
    public static Tensor maxPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        int[] k = pair("maxPool2d", "kernel", kernel), s = stride == null ? k : pair("maxPool2d", "stride", stride);
        int[] p = pair("maxPool2d", "padding", padding), d = pair("maxPool2d", "dilation", dilation);
        return Pooling.maxPool2d(x, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], ceilMode);
    }

    /** Max pooling with a square window, the given stride and padding. */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        return Pooling.maxPool2d(x, kernel, kernel, stride, stride, padding, padding, 1, 1, false);
    }

    /**
     * Average pooling (PyTorch's F.avg_pool2d). With {@code countIncludePad} the divisor counts padded
     * positions (PyTorch's default), otherwise only the input positions under the window.
     */
    public static Tensor avgPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        int[] k = pair("avgPool2d", "kernel", kernel), s = stride == null ? k : pair("avgPool2d", "stride", stride);
        int[] p = pair("avgPool2d", "padding", padding);
        return Pooling.avgPool2d(x, k[0], k[1], s[0], s[1], p[0], p[1], ceilMode, countIncludePad);
    }

    /** Average pooling with a square window, the given stride and padding (padding counted in the divisor). */
    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int padding) {
        return Pooling.avgPool2d(x, kernel, kernel, stride, stride, padding, padding, false, true);
    }

    /**
     * Adaptive average pooling to [outH, outW]: output (i, j) averages rows floor(i H / outH) to
     * ceil((i + 1) H / outH) and likewise columns (PyTorch's F.adaptive_avg_pool2d).
     */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return Pooling.adaptiveAvgPool2d(x, outH, outW);
    }

    /**
     * Batch normalisation of [N, C, *] over every dim but 1 (PyTorch's F.batch_norm). Training normalises with
     * the batch mean and biased variance and, when the running tensors are given, updates them in place:
     * {@code running = (1 - momentum) running + momentum batch}, with the unbiased variance. Evaluation
     * ({@code training} false) uses the running statistics. weight and bias ([C]) may be null.
     */
    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training,
                                   double momentum, double eps) {
        return BatchNorms.batchNorm(x, runningMean, runningVar, weight, bias, training, momentum, eps);
    }

}
