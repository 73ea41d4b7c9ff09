package dev.kindling.optim;

import dev.kindling.kernels.OptimKernels;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter): Adam with weight decay applied to the weights, not the gradient. Defaults
 * as PyTorch: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. One fused vector loop per parameter.
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

    @Override
    protected void update(ParamGroup group, float[] p, float[] g, Map<String, float[]> state) {
        float[] m = buffer(state, "exp_avg", p.length), v = buffer(state, "exp_avg_sq", p.length);
        long t = stepCount;
        OptimKernels.adam(p, g, m, v, p.length, group.lr, beta1, beta2, eps, group.weightDecay, decoupled,
                1 - Math.pow(beta1, t), 1 - Math.pow(beta2, t));
    }
}
