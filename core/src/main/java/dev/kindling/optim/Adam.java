package dev.kindling.optim;

import dev.kindling.tensor.Tensor;
import java.util.List;

/**
 * Adam (Kingma &amp; Ba); weight decay, if any, is L2 added to the gradient (PyTorch's Adam). AdamW with
 * coupled decay: one update rule for both.
 */
public class Adam extends AdamW {
    public Adam(List<Tensor> params, double lr) {
        this(single(params, lr, 0), 0.9, 0.999, 1e-8);
    }

    public Adam(List<ParamGroup> groups, double beta1, double beta2, double eps) {
        super(groups, beta1, beta2, eps, false);
    }
}
