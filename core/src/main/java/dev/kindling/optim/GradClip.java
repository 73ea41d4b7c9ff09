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
            for (float v : p.grad().floatData()) ss += (double) v * v;
        }
        double norm = Math.sqrt(ss);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            for (Tensor p : params) {
                if (p.grad() == null) continue;
                float[] g = p.grad().floatData();
                for (int i = 0; i < g.length; i++) g[i] *= (float) scale;
            }
        return norm;
    }
}
