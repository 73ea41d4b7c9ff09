package dev.kindling.distributed;

import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * A Linear layer whose output features are split across the ranks (Megatron's column-parallel Linear):
 * rank r holds rows {@code [shardStart(out, n, r), shardStart(out, n, r + 1))} of the weight and bias and
 * computes those output features. The input is the same on every rank; its gradient is summed over ranks
 * in backward. The output stays split — feed it to a {@link RowParallelLinear} (elementwise activations in
 * between are fine).
 * <p>Shape: input [*, in] (replicated), output [*, outShard], outShard = this rank's share of out.
 */
public final class ColumnParallelLinear extends Module implements Sharded {
    private final ProcessGroup pg;
    public final Tensor weight, bias;
    public final int inFeatures, outFeatures, shardStart, shardLength;

    /** Initialised exactly like {@code new Linear(in, out, bias, g)} (the same seed on every rank), then sliced. */
    public ColumnParallelLinear(int inFeatures, int outFeatures, boolean bias, Generator g, ProcessGroup pg) {
        this(new Linear(inFeatures, outFeatures, bias, g), pg);
    }

    /** This rank's slice of {@code full} (the same layer on every rank). */
    public ColumnParallelLinear(Linear full, ProcessGroup pg) {
        this.pg = pg;
        inFeatures = full.inFeatures;
        outFeatures = full.outFeatures;
        shardStart = ProcessGroup.shardStart(outFeatures, pg.worldSize(), pg.rank());
        shardLength = ProcessGroup.shardLength(outFeatures, pg.worldSize(), pg.rank());
        if (shardLength == 0)
            throw new IllegalArgumentException("ColumnParallelLinear: " + outFeatures + " output features leave rank "
                    + pg.rank() + " of " + pg.worldSize() + " none");
        weight = registerParameter("weight", TensorParallel.slice(full.weight, 0, shardStart, shardLength));
        bias = full.bias == null ? null : registerParameter("bias", TensorParallel.slice(full.bias, 0, shardStart, shardLength));
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = TensorParallel.copyToRanks(x, pg).matmul(weight.t());
        return bias == null ? y : y.add(bias);
    }

    @Override
    public String toString() {
        return "ColumnParallelLinear(in=" + inFeatures + ", out=" + outFeatures + ", rows " + shardStart + ".." + (shardStart + shardLength) + ")";
    }

    /** The weight's rows and the bias's entries of the full Linear that this rank holds. */
    @Override
    public java.util.Map<String, ShardLayout> shardLayouts() {
        var out = new java.util.LinkedHashMap<String, ShardLayout>();
        out.put("weight", new ShardLayout(new int[] {outFeatures, inFeatures}, 0, new int[] {shardStart}, shardLength));
        if (bias != null) out.put("bias", new ShardLayout(new int[] {outFeatures}, 0, new int[] {shardStart}, shardLength));
        return out;
    }
}
