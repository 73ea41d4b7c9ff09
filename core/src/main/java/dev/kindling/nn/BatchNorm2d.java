package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/**
 * Batch normalisation over the channels of [N, C, H, W] (PyTorch's nn.BatchNorm2d); see {@link Functional#batchNorm}.
 * <p>Parameters weight (ones) and bias (zeros) [C] when affine; buffers running_mean (zeros), running_var
 * (ones) [C] and num_batches_tracked (INT64 scalar) when tracking running statistics, all in the state dict
 * under PyTorch's names. Training mode uses batch statistics and updates the buffers; eval mode uses the buffers.
 */
public final class BatchNorm2d extends Module {
    public final int numFeatures;
    public final double eps, momentum;
    public final Tensor weight, bias;
    private final Tensor runningMean, runningVar, numBatchesTracked;

    /** eps 1e-5, momentum 0.1, affine, tracking running statistics. */
    public BatchNorm2d(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, true, true);
    }

    public BatchNorm2d(int numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        if (numFeatures <= 0) throw new IllegalArgumentException("BatchNorm2d: numFeatures must be positive, got " + numFeatures);
        if (!(eps > 0)) throw new IllegalArgumentException("BatchNorm2d: eps must be positive, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("BatchNorm2d: momentum must be in [0, 1], got " + momentum);
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = affine ? registerParameter("weight", Tensor.ones(numFeatures)) : null;
        this.bias = affine ? registerParameter("bias", Tensor.zeros(numFeatures)) : null;
        if (trackRunningStats) {
            runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
            runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
            numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.wrapLongs(new long[1]));
        } else {
            runningMean = runningVar = numBatchesTracked = null;
        }
    }

    public Tensor runningMean() {
        return runningMean;
    }

    public Tensor runningVar() {
        return runningVar;
    }

    /** Training batches seen so far (0 when running statistics are not tracked). */
    public long numBatchesTracked() {
        return numBatchesTracked == null ? 0 : ((long[]) numBatchesTracked.storageArray())[numBatchesTracked.storageOffset()];
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 4)
            throw new IllegalArgumentException("BatchNorm2d: input must be [N, C, H, W], got shape " + java.util.Arrays.toString(x.shape()));
        // without running statistics, eval mode also normalises with the batch statistics (as PyTorch does)
        boolean useBatch = isTraining() || runningMean == null;
        Tensor y = Functional.batchNorm(x, isTraining() ? runningMean : (useBatch ? null : runningMean),
                isTraining() ? runningVar : (useBatch ? null : runningVar), weight, bias, useBatch, momentum, eps);
        if (isTraining() && numBatchesTracked != null) ((long[]) numBatchesTracked.storageArray())[numBatchesTracked.storageOffset()]++;
        return y;
    }

    @Override
    protected String extraRepr() {
        return numFeatures + ", eps=" + eps + ", momentum=" + momentum + ", affine=" + (weight != null)
                + ", track_running_stats=" + (runningMean != null);
    }
}
