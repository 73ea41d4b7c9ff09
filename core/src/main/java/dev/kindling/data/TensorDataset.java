package dev.kindling.data;

import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/** Samples are rows of an input tensor and a target tensor with the same first dim. */
public final class TensorDataset implements Dataset {
    private final Tensor inputs, targets;

    public TensorDataset(Tensor inputs, Tensor targets) {
        if (inputs.dim() == 0 || targets.dim() == 0 || inputs.size(0) != targets.size(0))
            throw new IllegalArgumentException("TensorDataset: inputs " + Arrays.toString(inputs.shape()) + " and targets "
                    + Arrays.toString(targets.shape()) + " need the same first dim");
        this.inputs = inputs;
        this.targets = targets;
    }

    public Tensor inputs() {
        return inputs;
    }

    public Tensor targets() {
        return targets;
    }

    @Override
    public int size() {
        return inputs.size(0);
    }

    @Override
    public Example get(int i) {
        return new Example(inputs.select(0, i), targets.select(0, i));
    }

    @Override
    public Batch batch(int[] indices) {
        Tensor idx = Tensor.fromInts(indices, indices.length);
        return new Batch(inputs.indexSelect(0, idx), gatherTargets(idx));
    }

    private Tensor gatherTargets(Tensor idx) {
        if (targets.dtype().isFloatingPoint()) return targets.indexSelect(0, idx);
        // integer labels stay integers (indexSelect computes in float)
        long[] all = targets.toLongArray();
        int per = all.length / size();
        int[] ix = new int[idx.numel()];
        for (int i = 0; i < ix.length; i++) ix[i] = (int) idx.getLong(i);
        long[] out = new long[ix.length * per];
        for (int i = 0; i < ix.length; i++) System.arraycopy(all, ix[i] * per, out, i * per, per);
        int[] shape = targets.shape();
        shape[0] = ix.length;
        return Tensor.wrapLongs(out, shape);
    }

    /** The samples at {@code indices} as a new TensorDataset (used by splits and subsets). */
    public TensorDataset subset(int[] indices) {
        Batch b = batch(indices);
        return new TensorDataset(b.input(), b.target());
    }
}
