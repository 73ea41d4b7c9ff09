package dev.kindling.nn;

import dev.kindling.kernels.Parallel;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * Batch normalisation over dim 1 of [N, C, *] as one fused op. Training normalises with the batch statistics
 * (biased variance) and moves the running statistics toward them (unbiased variance, as PyTorch does);
 * evaluation normalises with the running statistics.
 */
final class BatchNorms {
    private BatchNorms() {}

    static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training,
                            double momentum, double eps) {
        String op = "batchNorm";
        if (x.dim() < 2) throw new IllegalArgumentException(op + ": input must be [N, C, *], got shape " + Arrays.toString(x.shape()));
        int n = x.size(0), c = x.size(1), inner = c == 0 || n == 0 ? 0 : x.numel() / (n * c), m = n * inner;
        for (Tensor t : new Tensor[] {runningMean, runningVar, weight, bias})
            if (t != null && (t.dim() != 1 || t.size(0) != c))
                throw new IllegalArgumentException(op + ": weight, bias and running statistics must be [" + c + "], got shape "
                        + Arrays.toString(t.shape()) + " for input " + Arrays.toString(x.shape()));
        if (!training && (runningMean == null || runningVar == null))
            throw new IllegalArgumentException(op + ": evaluation mode needs running mean and variance");
        if (training && m <= 1)
            throw new IllegalArgumentException(op + ": training needs more than 1 value per channel, got input shape " + Arrays.toString(x.shape()));
        float[] xa = Convolution.values(x);
        float[] wa = weight == null ? null : Convolution.values(weight), ba = bias == null ? null : Convolution.values(bias);
        float[] mean = new float[c], rstd = new float[c];
        if (training) {
            float[] var = new float[c];
            Parallel.forRange(c, 2L * m, (from, to) -> {
                for (int ch = from; ch < to; ch++) {
                    double s = 0;
                    for (int i = 0; i < n; i++) {
                        int base = (i * c + ch) * inner;
                        for (int j = 0; j < inner; j++) s += xa[base + j];
                    }
                    double mu = s / m, ss = 0;
                    for (int i = 0; i < n; i++) {
                        int base = (i * c + ch) * inner;
                        for (int j = 0; j < inner; j++) {
                            double d = xa[base + j] - mu;
                            ss += d * d;
                        }
                    }
                    mean[ch] = (float) mu;
                    var[ch] = (float) (ss / m);
                    rstd[ch] = (float) (1 / Math.sqrt(ss / m + eps));
                }
            });
            if (runningMean != null && runningVar != null) {
                float[] rm = runningMean.floatData(), rv = runningVar.floatData();
                for (int ch = 0; ch < c; ch++) {
                    rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * mean[ch]);
                    rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * var[ch] * m / (m - 1.0));
                }
            }
        } else {
            float[] rm = Convolution.values(runningMean), rv = Convolution.values(runningVar);
            for (int ch = 0; ch < c; ch++) {
                mean[ch] = rm[ch];
                rstd[ch] = (float) (1 / Math.sqrt(rv[ch] + eps));
            }
        }
        float[] y = (float[]) Tensor.empty(xa.length).storageArray(); // every element is written
        Parallel.forRange(n * c, inner, (from, to) -> {
            for (int r = from; r < to; r++) {
                int ch = r % c, base = r * inner;
                float scale = rstd[ch] * (wa == null ? 1f : wa[ch]), shift = (ba == null ? 0f : ba[ch]) - mean[ch] * scale;
                for (int j = 0; j < inner; j++) y[base + j] = xa[base + j] * scale + shift;
            }
        });
        int[] xs = x.shape();
        return Tensor.customOp(op, Tensor.wrap(y, xs), g -> {
            float[] ga = Convolution.values(g);
            float[] sdy = new float[c], sdyx = new float[c];
            Parallel.forRange(c, 2L * m, (from, to) -> {
                for (int ch = from; ch < to; ch++) {
                    double a = 0, b = 0;
                    float mu = mean[ch], rs = rstd[ch];
                    for (int i = 0; i < n; i++) {
                        int base = (i * c + ch) * inner;
                        for (int j = 0; j < inner; j++) {
                            float d = ga[base + j];
                            a += d;
                            b += d * ((xa[base + j] - mu) * rs);
                        }
                    }
                    sdy[ch] = (float) a;
                    sdyx[ch] = (float) b;
                }
            });
            float[] dx = null;
            if (x.requiresGrad()) {
                float[] d = (float[]) Tensor.empty(xa.length).storageArray(); // every element is written
                Parallel.forRange(n * c, inner, (from, to) -> {
                    for (int r = from; r < to; r++) {
                        int ch = r % c, base = r * inner;
                        float wr = rstd[ch] * (wa == null ? 1f : wa[ch]), mu = mean[ch], rs = rstd[ch];
                        if (training) {
                            // dx = w rstd / M (M dy - sum dy - xhat sum(dy xhat))
                            float a = sdy[ch] / m, b = sdyx[ch] / m;
                            for (int j = 0; j < inner; j++)
                                d[base + j] = wr * (ga[base + j] - a - (xa[base + j] - mu) * rs * b);
                        } else {
                            for (int j = 0; j < inner; j++) d[base + j] = wr * ga[base + j];
                        }
                    }
                });
                dx = d;
            }
            return new Tensor[] {dx == null ? null : Tensor.wrap(dx, xs), null, null,
                    weight != null && weight.requiresGrad() ? Tensor.wrap(sdyx, c) : null,
                    bias != null && bias.requiresGrad() ? Tensor.wrap(sdy, c) : null};
        }, x, runningMean, runningVar, weight, bias);
    }
}
