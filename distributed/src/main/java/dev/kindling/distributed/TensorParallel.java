package dev.kindling.distributed;

import dev.kindling.autograd.Grad;
import dev.kindling.tensor.Tensor;

/**
 * The two communication ops of Megatron-style tensor parallelism (Shoeybi et al., "Megatron-LM", 2019), as
 * differentiable ops: {@link #copyToRanks} (identity forward, all-reduce of the gradient backward — Megatron's
 * f) in front of a column-parallel layer, and {@link #reduceFromRanks} (all-reduce forward, identity backward
 * — g) behind a row-parallel layer. Between them each rank holds only its slice of the hidden features.
 */
public final class TensorParallel {
    private TensorParallel() {
    }

    /** Identity; in backward the gradient is summed over the ranks (each rank's slice contributed a part). */
    public static Tensor copyToRanks(Tensor x, ProcessGroup pg) {
        Tensor out = Tensor.fromArray(x.toFloatArray(), x.shape());
        return Tensor.customOp("copyToRanks", out, g -> {
            float[] v = g.toFloatArray();
            pg.allReduce(v, ReduceOp.SUM);
            return new Tensor[] {Tensor.fromArray(v, g.shape())};
        }, x);
    }

    /** The sum over ranks of each rank's {@code x}; in backward the gradient passes to every rank unchanged. */
    public static Tensor reduceFromRanks(Tensor x, ProcessGroup pg) {
        float[] v = x.toFloatArray();
        pg.allReduce(v, ReduceOp.SUM);
        Tensor out = Tensor.fromArray(v, x.shape());
        return Tensor.customOp("reduceFromRanks", out, g -> new Tensor[] {g}, x);
    }

    /** Entries {@code [from, from + len)} along {@code dim} of {@code t}, copied into a tensor of their own. */
    static Tensor slice(Tensor t, int dim, int from, int len) {
        try (var noGrad = Grad.disabled()) {
            Tensor v = t.narrow(dim, from, len);
            return Tensor.fromArray(v.toFloatArray(), v.shape());
        }
    }
}
