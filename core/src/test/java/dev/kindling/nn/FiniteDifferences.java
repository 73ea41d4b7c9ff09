package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.kindling.autograd.Grad;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.function.Supplier;

/**
 * A gradient check for layers and losses: the gradient backward() gives for sum(f() * w), w a fixed random
 * weighting of the output, against a fourth-order central difference of the same sum, which the test
 * evaluates by perturbing each element of each input in place. Sums are taken in double; the step is large
 * (1e-2) because f computes in float, and the fourth-order formula keeps the truncation error small at
 * that step. Unlike {@link dev.kindling.autograd.GradCheck}, which hands the function fresh leaves, this perturbs
 * the given tensors in place, so a module's own parameters can be checked through its forward.
 */
final class FiniteDifferences {
    private static final double H = 1e-2, ATOL = 1e-3, RTOL = 3e-3;

    private FiniteDifferences() {}

    /** Checks the gradient of {@code f} with respect to every input (leaf FLOAT32 tensors that own their arrays). */
    static void check(String what, Supplier<Tensor> f, Tensor... inputs) {
        Tensor out0;
        try (var off = Grad.disabled()) {
            out0 = f.get();
        }
        float[] w = Tensor.randn(new Generator(42), out0.shape()).toFloatArray();
        Tensor wt = Tensor.fromArray(w, out0.shape());
        for (Tensor x : inputs) x.zeroGrad();
        f.get().mul(wt).sum().backward();
        for (int k = 0; k < inputs.length; k++) {
            Tensor x = inputs[k];
            assertNotNull(x.grad(), what + ": input " + k + " got no gradient");
            float[] analytic = x.grad().toFloatArray();
            float[] data = x.floatData();
            for (int i = 0; i < data.length; i++) {
                float orig = data[i];
                double fp2 = eval(f, w, data, i, orig + 2 * H), fp1 = eval(f, w, data, i, orig + H);
                double fm1 = eval(f, w, data, i, orig - H), fm2 = eval(f, w, data, i, orig - 2 * H);
                data[i] = orig;
                double numeric = (-fp2 + 8 * fp1 - 8 * fm1 + fm2) / (12 * H);
                assertEquals(numeric, analytic[i], ATOL + RTOL * Math.abs(numeric),
                        what + ": d/d input " + k + " element " + i + " analytic " + analytic[i] + " numeric " + numeric);
            }
        }
    }

    private static double eval(Supplier<Tensor> f, float[] w, float[] data, int i, double value) {
        data[i] = (float) value;
        float[] out;
        try (var off = Grad.disabled()) {
            out = f.get().toFloatArray();
        }
        double s = 0;
        for (int j = 0; j < out.length; j++) s += (double) out[j] * w[j];
        return s;
    }
}
