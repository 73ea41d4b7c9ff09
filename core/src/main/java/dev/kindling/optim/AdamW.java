package dev.kindling.optim;

import dev.kindling.autograd.Grad;
import dev.kindling.kernels.OptimKernels;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter): Adam with weight decay applied to the weights, not the gradient. Defaults
 * as PyTorch: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. One fused vector loop over all parameters.
 */
public class AdamW extends Optimizer {
    private final double beta1, beta2, eps;
    private final boolean decoupled;

    public AdamW(List<Tensor> params, double lr) {
        this(single(params, lr, 0.01), 0.9, 0.999, 1e-8);
    }

    public AdamW(List<Tensor> params, double lr, double weightDecay) {
        this(single(params, lr, weightDecay), 0.9, 0.999, 1e-8);
    }

    public AdamW(List<ParamGroup> groups, double beta1, double beta2, double eps) {
        this(groups, beta1, beta2, eps, true);
    }

    AdamW(List<ParamGroup> groups, double beta1, double beta2, double eps, boolean decoupled) {
        super(groups);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("Adam: betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        if (!(eps >= 0)) throw new IllegalArgumentException("Adam: eps must be >= 0, got " + eps);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.decoupled = decoupled;
    }

    /** Every parameter's update in one parallel pass ({@link OptimKernels#adamAll}); the same values as {@link #update}. */
    @Override
    public void step() {
        stepCount++;
        List<float[]> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        List<Double> lr = new ArrayList<>(), wd = new ArrayList<>();
        try (var noGrad = Grad.disabled()) {
            for (ParamGroup group : groups)
                for (Tensor param : group.params) {
                    Tensor grad = param.grad();
                    if (grad == null) continue;
                    float[] pa = param.floatData();
                    Map<String, float[]> st = state(param);
                    p.add(pa);
                    g.add(values(grad));
                    m.add(buffer(st, "exp_avg", pa.length));
                    v.add(buffer(st, "exp_avg_sq", pa.length));
                    lr.add(group.lr);
                    wd.add(group.weightDecay);
                }
            long t = stepCount;
            OptimKernels.adamAll(p.toArray(float[][]::new), g.toArray(float[][]::new), m.toArray(float[][]::new),
                    v.toArray(float[][]::new), lr.stream().mapToDouble(Double::doubleValue).toArray(),
                    wd.stream().mapToDouble(Double::doubleValue).toArray(), beta1, beta2, eps, decoupled,
                    1 - Math.pow(beta1, t), 1 - Math.pow(beta2, t));
        }
    }

    @Override
    protected void update(ParamGroup group, float[] p, float[] g, Map<String, float[]> state) {
        float[] m = buffer(state, "exp_avg", p.length), v = buffer(state, "exp_avg_sq", p.length);
        long t = stepCount;
        OptimKernels.adam(p, g, m, v, p.length, group.lr, beta1, beta2, eps, group.weightDecay, decoupled,
                1 - Math.pow(beta1, t), 1 - Math.pow(beta2, t));
    }
}
