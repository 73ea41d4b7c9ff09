package dev.kindling.optim;

import dev.kindling.kernels.OptimKernels;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.Map;

/** Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch's SGD). */
public class SGD extends Optimizer {
    private final double momentum, dampening;
    private final boolean nesterov;

    public SGD(List<Tensor> params, double lr) {
        this(single(params, lr, 0), 0, 0, false);
    }

    public SGD(List<Tensor> params, double lr, double momentum) {
        this(single(params, lr, 0), momentum, 0, false);
    }

    public SGD(List<ParamGroup> groups, double momentum, double dampening, boolean nesterov) {
        super(groups);
        if (momentum < 0) throw new IllegalArgumentException("SGD: momentum must be >= 0, got " + momentum);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    @Override
    protected void update(ParamGroup group, float[] p, float[] g, Map<String, float[]> state) {
        float lr = (float) group.lr, wd = (float) group.weightDecay, mu = (float) momentum, damp = (float) dampening;
        boolean first = !state.containsKey("momentum_buffer");
        float[] buf = mu != 0 ? buffer(state, "momentum_buffer", p.length) : null;
        OptimKernels.sgd(p, g, buf, p.length, lr, wd, mu, damp, nesterov, first);
    }
}
