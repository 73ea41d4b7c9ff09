package dev.kindling.distributed;

import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * A Linear layer whose input features are split across the ranks (Megatron's row-parallel Linear): rank r
 * holds columns {@code [shardStart(in, n, r), shardStart(in, n, r + 1))} of the weight, multiplies its slice
 * of the input, and the partial products are summed over the ranks (one all-reduce); the bias is added once,
 * after the sum. The output is the same on every rank.
 * <p>Shape: input [*, inShard] (this rank's features, e.g. from a {@link ColumnParallelLinear}), output [*, out].
 */
public final class RowParallelLinear extends Module implements Sharded {
    private final ProcessGroup pg;
    public final Tensor weight, bias;
    public final int inFeatures, outFeatures, shardStart, shardLength;

    /** Initialised exactly like {@code new Linear(in, out, bias, g)} (the same seed on every rank), then sliced. */
    public RowParallelLinear(int inFeatures, int outFeatures, boolean bias, Generator g, ProcessGroup pg) {
        this(new Linear(inFeatures, outFeatures, bias, g), pg);
    }

    /** This rank's slice of {@code full} (the same layer on every rank). */
    public RowParallelLinear(Linear full, ProcessGroup pg) {
        this(full, pg, ProcessGroup.shardStart(full.inFeatures, pg.worldSize(), pg.rank()),
                ProcessGroup.shardLength(full.inFeatures, pg.worldSize(), pg.rank()));
    }

    /** Input columns {@code [shardStart, shardStart + shardLength)} of {@code full} (split by attention heads, say). */
    RowParallelLinear(Linear full, ProcessGroup pg, int shardStart, int shardLength) {
        this.pg = pg;
        inFeatures = full.inFeatures;
        outFeatures = full.outFeatures;
        this.shardStart = shardStart;
        this.shardLength = shardLength;
        if (shardLength == 0)
            throw new IllegalArgumentException("RowParallelLinear: " + inFeatures + " input features leave rank "
                    + pg.rank() + " of " + pg.worldSize() + " none");
        weight = registerParameter("weight", TensorParallel.slice(full.weight, 1, shardStart, shardLength));
        bias = full.bias == null ? null : registerParameter("bias", TensorParallel.slice(full.bias, 0, 0, outFeatures));
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.size(-1) != shardLength)
            throw new IllegalArgumentException("RowParallelLinear: input has " + x.size(-1) + " features, rank " + pg.rank()
                    + " holds " + shardLength + " (columns " + shardStart + ".." + (shardStart + shardLength) + " of " + inFeatures + ")");
        Tensor y = TensorParallel.reduceFromRanks(x.matmul(weight.t()), pg);
        return bias == null ? y : y.add(bias);
    }

    @Override
    public String toString() {
        return "RowParallelLinear(in=" + inFeatures + ", out=" + outFeatures + ", columns " + shardStart + ".." + (shardStart + shardLength) + ")";
    }

    /** The weight's columns of the full Linear that this rank holds (the bias is replicated). */
    @Override
    public java.util.Map<String, ShardLayout> shardLayouts() {
        return java.util.Map.of("weight", new ShardLayout(new int[] {outFeatures, inFeatures}, 1, new int[] {shardStart}, shardLength));
    }
}
