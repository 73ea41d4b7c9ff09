package dev.kindling.autograd;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Checks the gradients that backward computes against central finite differences (PyTorch's
 * {@code torch.autograd.gradcheck}, adapted to float32 arithmetic).
 *
 * <p>The check contracts the output with a random upstream gradient {@code gout} (not all ones, so that a
 * backward that mixes up output elements is caught): with {@code L(x) = sum(fn(x) * gout)}, the analytic
 * gradient is what {@code fn(x).backward(gout)} leaves in each input's {@link Tensor#grad()}, and the numeric one
 * is the fourth-order central difference
 * {@code (8 (L(x + h) - L(x - h)) - (L(x + 2h) - L(x - 2h))) / (12 h)} in every element of every checked input.
 * {@code fn} runs in float32 and {@code L} is accumulated in double. Float32 rounding of the outputs puts noise
 * of about {@code 1e-7 |out| / h} on the numeric side, so h must be large (1e-2); the fourth-order formula keeps
 * the truncation error at {@code O(h^4)} all the same, where the two-point one would be off by {@code O(h^2)}.
 * An element passes when {@code |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)}.
 *
 * <pre>{@code
 * GradCheck.check("softmax", in -> in.get(0).softmax(-1), List.of(Tensor.randn(new Generator(1), 3, 4)));
 * }</pre>
 *
 * Keep inputs small: each checked element costs four evaluations of {@code fn}. Inputs must lie away from
 * kinks (relu at 0, clamp bounds) by more than 2 eps, or the finite difference straddles them.
 */
public final class GradCheck {
    private GradCheck() {}

    /**
     * Settings of a check.
     *
     * @param eps  step h of the finite difference (inputs move by up to 2h); 1e-2 suits float32 functions of values around 1
     * @param atol absolute tolerance
     * @param rtol relative tolerance
     * @param seed seed of the random upstream gradient
     */
    public record Options(double eps, double atol, double rtol, long seed) {
        public Options {
            if (!(eps > 0)) throw new IllegalArgumentException("gradcheck: eps must be positive, got " + eps);
            if (!(atol >= 0) || !(rtol >= 0))
                throw new IllegalArgumentException("gradcheck: tolerances must be non-negative, got atol " + atol + ", rtol " + rtol);
        }

        /** eps 1e-2, atol 1e-4, rtol 1e-3, seed 0. */
        public static Options defaults() {
            return new Options(1e-2, 1e-4, 1e-3, 0);
        }

        public Options withEps(double value) { return new Options(value, atol, rtol, seed); }
        public Options withAtol(double value) { return new Options(eps, value, rtol, seed); }
        public Options withRtol(double value) { return new Options(eps, atol, value, seed); }
        public Options withSeed(long value) { return new Options(eps, atol, rtol, value); }
    }

    /** Checks every floating-point input with the default options; see {@link #check(String, Function, List, boolean[], Options)}. */
    public static void check(String name, Function<List<Tensor>, Tensor> fn, List<Tensor> inputs) {
        boolean[] wrt = new boolean[inputs.size()];
        for (int k = 0; k < wrt.length; k++) wrt[k] = inputs.get(k).dtype().isFloatingPoint();
        check(name, fn, inputs, wrt, Options.defaults());
    }

    /**
     * Checks the gradient of {@code fn} with respect to the inputs marked in {@code wrt}.
     *
     * <p>{@code fn} receives the inputs as fresh contiguous FLOAT32 leaves (those in {@code wrt} require grad;
     * the others are passed unchanged, e.g. INT64 indices) and must be deterministic: a function that draws
     * random numbers must seed its own generator on every call.
     *
     * @throws AssertionError naming the check, the input, the worst element and both gradients when they differ
     *                        beyond the tolerance, or when backward gives a gradient of the wrong shape
     * @throws IllegalArgumentException when {@code fn} returns a non-floating-point tensor
     */
    public static void check(String name, Function<List<Tensor>, Tensor> fn, List<Tensor> inputs, boolean[] wrt, Options options) {
        if (wrt.length != inputs.size())
            throw new IllegalArgumentException("gradcheck " + name + ": " + wrt.length + " wrt flags for " + inputs.size() + " inputs");
        float[][] values = new float[inputs.size()][];
        for (int k = 0; k < inputs.size(); k++) {
            if (!wrt[k]) continue;
            if (!inputs.get(k).dtype().isFloatingPoint())
                throw new IllegalArgumentException("gradcheck " + name + ": input " + k + " is " + inputs.get(k).dtype()
                        + " and cannot be differentiated");
            values[k] = inputs.get(k).toFloatArray();
        }

        // analytic: backward of sum(out * gout)
        List<Tensor> leaves = leaves(inputs, wrt, values, -1, 0, 0f);
        Tensor out;
        try (var on = Grad.enabled()) {
            out = fn.apply(leaves);
        }
        if (!out.dtype().isFloatingPoint())
            throw new IllegalArgumentException("gradcheck " + name + ": the output is " + out.dtype() + ", not differentiable");
        Tensor gout = Tensor.randn(new Generator(options.seed()), out.shape());
        float[] g = gout.toFloatArray();
        if (out.requiresGrad()) out.backward(gout);

        try (var off = Grad.disabled()) {
            for (int k = 0; k < inputs.size(); k++) {
                if (!wrt[k]) continue;
                Tensor grad = leaves.get(k).grad();
                if (grad != null && !Arrays.equals(grad.shape(), leaves.get(k).shape()))
                    throw new AssertionError("gradcheck " + name + ": gradient of input " + k + " has shape "
                            + Arrays.toString(grad.shape()) + " but the input has shape " + Arrays.toString(leaves.get(k).shape()));
                float[] analytic = grad == null ? new float[values[k].length] : grad.toFloatArray();
                compare(name, fn, inputs, wrt, values, k, analytic, g, options);
            }
        }
    }

    private static void compare(String name, Function<List<Tensor>, Tensor> fn, List<Tensor> inputs, boolean[] wrt,
                                float[][] values, int k, float[] analytic, float[] g, Options o) {
        int worst = -1;
        double worstRatio = 1, worstNumeric = 0;
        for (int i = 0; i < values[k].length; i++) {
            double h = o.eps();
            double l1 = at(fn, inputs, wrt, values, k, i, h, g) - at(fn, inputs, wrt, values, k, i, -h, g);
            double l2 = at(fn, inputs, wrt, values, k, i, 2 * h, g) - at(fn, inputs, wrt, values, k, i, -2 * h, g);
            double numeric = (8 * l1 - l2) / (12 * h);
            double a = analytic[i];
            if (Double.isNaN(a) && Double.isNaN(numeric)) continue;
            double allowed = o.atol() + o.rtol() * Math.max(Math.abs(a), Math.abs(numeric));
            double err = Math.abs(a - numeric);
            // a NaN on one side only is the worst failure there is
            double ratio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / allowed;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
                worstNumeric = numeric;
            }
        }
        if (worst < 0) return;
        int[] shape = inputs.get(k).shape();
        throw new AssertionError(String.format(java.util.Locale.ROOT,
                "gradcheck %s: input %d of shape %s, element %s: analytic %.6g vs numeric %.6g (|diff| %.3g > atol %.1g + rtol %.1g * |grad|)%n"
                        + "input: %s%nanalytic gradient: %s",
                name, k, Arrays.toString(shape), Arrays.toString(unravel(worst, shape)), (double) analytic[worst], worstNumeric,
                Math.abs(analytic[worst] - worstNumeric), o.atol(), o.rtol(),
                Tensor.fromArray(values[k], shape), Tensor.fromArray(analytic, shape)));
    }

    /** L with element i of input k moved by {@code delta}. */
    private static double at(Function<List<Tensor>, Tensor> fn, List<Tensor> inputs, boolean[] wrt, float[][] values,
                             int k, int i, double delta, float[] g) {
        return contract(fn.apply(leaves(inputs, wrt, values, k, i, (float) (values[k][i] + delta))), g);
    }

    /** The inputs as fresh leaves, with element {@code i} of input {@code k} set to {@code value} (k < 0: none). */
    private static List<Tensor> leaves(List<Tensor> inputs, boolean[] wrt, float[][] values, int k, int i, float value) {
        List<Tensor> out = new ArrayList<>(inputs.size());
        for (int j = 0; j < inputs.size(); j++) {
            if (!wrt[j]) {
                out.add(inputs.get(j));
                continue;
            }
            float[] v = values[j].clone();
            if (j == k) v[i] = value;
            Tensor t = Tensor.fromArray(v, inputs.get(j).shape());
            out.add(k < 0 ? t.requiresGrad(true) : t);
        }
        return out;
    }

    /** sum(out * g) in double. */
    private static double contract(Tensor out, float[] g) {
        float[] o = out.toFloatArray();
        double s = 0;
        for (int i = 0; i < o.length; i++) s += (double) o[i] * g[i];
        return s;
    }

    private static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
