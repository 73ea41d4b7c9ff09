package dev.kindling.kernels;

import java.lang.ref.SoftReference;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link EncoderLayer.Projection} of a dynamically quantized linear layer, as ONNX exports write it
 * (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the scales → Add the bias): the input is quantized per
 * tensor to uint8 exactly as DynamicQuantizeLinear does ({@link DynamicQuantization}), and its codes minus their zero
 * point are multiplied with the weight's codes minus theirs on the packed float GEMM. Those operands are integers of
 * at most 255 in magnitude, so their products and sums are exact in float (as long as a sum stays below 2^24), and
 * y = sum * (scale_x * scale_w[j]) is then rounded once, as the op-by-op graph rounds it: the two give the same
 * bits.
 *
 * <p>The codes go to a per-thread buffer. A thread computing one column block of a split call quantizes the whole
 * input itself (the scale is the whole tensor's): for the few rows of a split call that is a few microseconds, and it
 * spares a barrier between the quantization and the GEMM.
 */
final class QuantizedProjection implements EncoderLayer.Projection {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ThreadLocal<SoftReference<float[]>> CODES = new ThreadLocal<>();

    private final int in, out;
    private final PackedProjection gemm; // on W's codes minus their zero points, packed
    private final float[] wScale; // one per output column

    QuantizedProjection(int in, int out, float[] w, float[] wScale) {
        if (in < 0 || out < 0) throw new IllegalArgumentException("QuantizedProjection: sizes must be >= 0, got in=" + in + " out=" + out);
        if (w == null || w.length != (long) in * out)
            throw new IllegalArgumentException("QuantizedProjection: W has " + (w == null ? "no" : String.valueOf(w.length)) + " values, expected in "
                    + in + " x out " + out);
        if (wScale == null || (wScale.length != 1 && wScale.length != out))
            throw new IllegalArgumentException("QuantizedProjection: " + (wScale == null ? "no" : String.valueOf(wScale.length))
                    + " weight scales, expected 1 or one per output column (" + out + ")");
        this.in = in;
        this.out = out;
        gemm = new PackedProjection(false, in, out, w, 0, out, false); // the widened codes are not kept past packing
        this.wScale = wScale.length == out ? wScale.clone() : filled(out, wScale[0]);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    @Override
    public void apply(float[] x, int rows, float[] y, float beta) {
        float[] codes = codes(rows);
        float scale = quantize(x, null, rows, codes, true);
        if (beta == 0) {
            gemm.apply(codes, rows, y, 0f);
            finish(y, rows, scale, null, 0, out);
        } else {
            float[] sums = new float[rows * out]; // not the encoder layer's path, which never accumulates onto y
            gemm.apply(codes, rows, sums, 0f);
            finish(sums, rows, scale, null, 0, out);
            for (int i = 0; i < sums.length; i++) y[i] = beta * y[i] + sums[i];
        }
    }

    @Override
    public float[] applyUnscaled(float[] x, float[] range, int rows, float[] y) {
        float[] codes = codes(rows);
        float scale = quantize(x, range, rows, codes, true);
        gemm.apply(codes, rows, y, 0f);
        return columnScales(scale);
    }

    @Override
    public float[] applyBlockUnscaled(float[] x, float[] range, int rows, float[] y, int part, int parts) {
        float[] codes = codes(rows);
        float scale = quantize(x, range, rows, codes, false);
        gemm.applyBlock(codes, rows, y, 0f, part, parts);
        return columnScales(scale);
    }

    @Override
    public void applyWithBias(float[] x, int rows, float[] y, float[] bias) {
        checkBias(bias);
        float[] codes = codes(rows);
        float scale = quantize(x, null, rows, codes, true);
        gemm.apply(codes, rows, y, 0f);
        finish(y, rows, scale, bias, 0, out);
    }

    @Override
    public boolean quantizesInput() {
        return true;
    }

    @Override
    public boolean splitsColumns() {
        return true;
    }

    @Override
    public void applyBlock(float[] x, int rows, float[] y, float beta, int part, int parts) {
        if (beta != 0) throw new IllegalArgumentException("QuantizedProjection: a column block overwrites y (beta 0), got beta " + beta);
        block(x, rows, y, null, part, parts);
    }

    @Override
    public void applyBlockWithBias(float[] x, int rows, float[] y, float[] bias, int part, int parts) {
        checkBias(bias);
        block(x, rows, y, bias, part, parts);
    }

    private void block(float[] x, int rows, float[] y, float[] bias, int part, int parts) {
        float[] codes = codes(rows);
        float scale = quantize(x, null, rows, codes, false); // this thread's share of a split call: no nested fork
        gemm.applyBlock(codes, rows, y, 0f, part, parts);
        finish(y, rows, scale, bias, EncoderLayer.blockStart(out, part, parts), EncoderLayer.blockStart(out, part + 1, parts));
    }

    private void checkBias(float[] bias) {
        if (bias == null || bias.length != out)
            throw new IllegalArgumentException("QuantizedProjection: bias has " + (bias == null ? "no" : String.valueOf(bias.length)) + " values, expected "
                    + out);
    }

    private float[] codes(int rows) {
        long n = (long) rows * in;
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("QuantizedProjection: an input of " + n + " values is too large");
        SoftReference<float[]> ref = CODES.get();
        float[] c = ref == null ? null : ref.get();
        if (c == null || c.length < n) CODES.set(new SoftReference<>(c = new float[(int) n]));
        return c;
    }

    /**
     * Quantizes x[0, rows * in) into codes minus the zero point; returns the scale. {@code range}: x's {min(0, min),
     * max(0, max)} if the caller took it, else null.
     */
    private float quantize(float[] x, float[] range, int rows, float[] codes, boolean parallel) {
        int n = rows * in;
        if (x.length < n) throw new IllegalArgumentException("QuantizedProjection: x has " + x.length + " values, expected rows " + rows + " x in " + in);
        if (range != null && range.length != 2)
            throw new IllegalArgumentException("QuantizedProjection: a range is {min, max}, got " + range.length + " values");
        boolean split = parallel && Parallel.threads() > 1 && n >= 1 << 16;
        int parts = split ? Parallel.threads() : 1;
        float lo = 0, hi = 0;
        if (range != null) {
            lo = range[0];
            hi = range[1];
        } else if (!split) {
            float[] r = DynamicQuantization.range(x, 0, n);
            lo = r[0];
            hi = r[1];
        } else {
            float[][] ranges = new float[parts][];
            Parallel.forChunks(parts, parts, (from, to) -> {
                for (int p = from; p < to; p++) ranges[p] = DynamicQuantization.range(x, share(n, p, parts), share(n, p + 1, parts) - share(n, p, parts));
            });
            for (float[] r : ranges) {
                lo = Math.min(lo, r[0]);
                hi = Math.max(hi, r[1]);
            }
        }
        float[] scaleZp = DynamicQuantization.scaleAndZeroPoint(lo, hi);
        if (!split) {
            DynamicQuantization.quantizeShifted(x, 0, n, scaleZp[0], scaleZp[1], codes, 0);
            return scaleZp[0];
        }
        Parallel.forChunks(parts, parts, (from, to) -> {
            for (int p = from; p < to; p++) {
                int s = share(n, p, parts);
                DynamicQuantization.quantizeShifted(x, s, share(n, p + 1, parts) - s, scaleZp[0], scaleZp[1], codes, s);
            }
        });
        return scaleZp[0];
    }

    private static int share(int n, int p, int parts) {
        return (int) ((long) n * p / parts);
    }

    /**
     * Columns [from, to) of each row: y = y * (scale * wScale[j]) (+ bias[j]), the Mul by the scale product and the
     * bias Add of the op-by-op graph, in that order and rounding (a multiply, then an add: no fused multiply-add).
     */
    private void finish(float[] y, int rows, float scale, float[] bias, int from, int to) {
        int width = to - from;
        if (width <= 0) return;
        float[] cs = columnScales(scale);
        Parallel.forRange(rows, 2L * width / S.length() + 1, (r0, r1) -> {
            int bound = from + S.loopBound(width);
            for (int r = r0; r < r1; r++) {
                int o = r * out, j = from;
                for (; j < bound; j += S.length()) {
                    var v = FloatVector.fromArray(S, y, o + j).mul(FloatVector.fromArray(S, cs, j));
                    if (bias != null) v = v.add(FloatVector.fromArray(S, bias, j));
                    v.intoArray(y, o + j);
                }
                for (; j < to; j++) y[o + j] = bias == null ? y[o + j] * cs[j] : y[o + j] * cs[j] + bias[j];
            }
        });
    }

    /** scale * wScale[j] per column, rounded to float as the graph's Mul of the two scales rounds it. */
    private float[] columnScales(float scale) {
        float[] cs = new float[out];
        for (int j = 0; j < out; j++) cs[j] = scale * wScale[j];
        return cs;
    }
}
