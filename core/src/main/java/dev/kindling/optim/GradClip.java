package dev.kindling.optim;

import dev.kindling.tensor.Tensor;
import java.util.List;

/** Gradient clipping. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients so their joint L2 norm is at most {@code maxNorm}; returns the norm before clipping
     * (NaN/Inf propagate so callers can detect a bad step).
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        double ss = 0;
        for (Tensor p : params) {
            if (p.grad() == null) continue;
            for (float v : Optimizer.values(p.grad())) ss += (double) v * v;
        }
        double norm = Math.sqrt(ss);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            for (Tensor p : params) {
                if (p.grad() == null) continue;
                // in place when the gradient owns its array; a view (set by the user) is replaced by a scaled copy
                boolean own = Optimizer.ownsArray(p.grad());
                float[] g = Optimizer.values(p.grad());
                for (int i = 0; i < g.length; i++) g[i] *= (float) scale;
                if (!own) p.setGrad(Tensor.wrap(g, p.grad().shape()));
            }
        return norm;
    }
}
