package dev.kindling.optim;

import dev.kindling.tensor.Tensor;
import java.util.List;

/** Parameters that share a learning rate and weight decay (PyTorch's param_groups). lr is mutable for schedules. */
public final class ParamGroup {
    public final List<Tensor> params;
    public double lr;
    public double weightDecay;
    /** The lr the group was created with; schedules scale it. */
    public final double initialLr;

    public ParamGroup(List<Tensor> params, double lr, double weightDecay) {
        if (!(lr >= 0)) throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        for (Tensor p : params)
            if (!p.requiresGrad()) throw new IllegalArgumentException("optimizer: a parameter of shape "
                    + java.util.Arrays.toString(p.shape()) + " does not require grad");
        this.params = List.copyOf(params);
        this.lr = lr;
        this.initialLr = lr;
        this.weightDecay = weightDecay;
    }
}
