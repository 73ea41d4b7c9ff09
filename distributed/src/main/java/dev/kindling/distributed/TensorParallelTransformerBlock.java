package dev.kindling.distributed;

import dev.kindling.nn.Functional;
import dev.kindling.nn.LayerNorm;
import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.nn.TransformerBlock;
import dev.kindling.tensor.Tensor;
import java.util.Map;

/**
 * A {@link TransformerBlock} split across ranks in the Megatron way: rank r computes attention heads
 * {@code [shardStart(heads, n, r), shardStart(heads, n, r + 1))} — its slice of the Q, K, V projections is
 * column-parallel and its slice of the output projection row-parallel — and its share of the MLP's 4E
 * hidden features (column-parallel {@code mlp.0}, row-parallel {@code mlp.2}). Each half costs one
 * all-reduce forward and one backward; the LayerNorms are replicated. Dropout is not supported (rate 0).
 * <p>Shape: [B, T, E] → [B, T, E], the same on every rank.
 */
public final class TensorParallelTransformerBlock extends Module {
    private final ProcessGroup pg;
    private final LayerNorm ln1, ln2;
    private final Tensor qWeight, kWeight, vWeight, qBias, kBias, vBias;
    private final RowParallelLinear attnOut, mlpProj;
    private final ColumnParallelLinear mlpFc;
    private final int embedDim, headSize, headStart, heads;
    private final boolean causal;

    /**
     * This rank's part of {@code full}, a block built with the same weights on every rank (dropout 0).
     * Needs at least as many heads as ranks.
     */
    public TensorParallelTransformerBlock(TransformerBlock full, int numHeads, boolean causal, ProcessGroup pg) {
        Map<String, Tensor> sd = full.stateDict();
        Tensor inW = sd.get("attn.in_proj_weight"), inB = sd.get("attn.in_proj_bias");
        if (inW == null || inB == null)
            throw new IllegalArgumentException("TensorParallelTransformerBlock: needs a block with packed, biased attention projections");
        this.pg = pg;
        this.causal = causal;
        embedDim = inW.size(1);
        if (embedDim % numHeads != 0)
            throw new IllegalArgumentException("TensorParallelTransformerBlock: embed dim " + embedDim + " is not divisible by " + numHeads + " heads");
        if (numHeads < pg.worldSize())
            throw new IllegalArgumentException("TensorParallelTransformerBlock: " + numHeads + " heads cannot be split over " + pg.worldSize() + " ranks");
        headSize = embedDim / numHeads;
        headStart = ProcessGroup.shardStart(numHeads, pg.worldSize(), pg.rank());
        heads = ProcessGroup.shardLength(numHeads, pg.worldSize(), pg.rank());
        int from = headStart * headSize, len = heads * headSize;
        ln1 = register("ln_1", copy(new LayerNorm(embedDim), sd, "ln_1."));
        ln2 = register("ln_2", copy(new LayerNorm(embedDim), sd, "ln_2."));
        qWeight = registerParameter("q_weight", TensorParallel.slice(inW, 0, from, len));
        kWeight = registerParameter("k_weight", TensorParallel.slice(inW, 0, embedDim + from, len));
        vWeight = registerParameter("v_weight", TensorParallel.slice(inW, 0, 2 * embedDim + from, len));
        qBias = registerParameter("q_bias", TensorParallel.slice(inB, 0, from, len));
        kBias = registerParameter("k_bias", TensorParallel.slice(inB, 0, embedDim + from, len));
        vBias = registerParameter("v_bias", TensorParallel.slice(inB, 0, 2 * embedDim + from, len));
        // the output projection's input features are the heads' outputs: this rank's heads are its columns
        attnOut = register("attn_out", new RowParallelLinear(linear(sd, "attn.out_proj."), pg, from, len));
        mlpFc = register("mlp_fc", new ColumnParallelLinear(linear(sd, "mlp.0."), pg));
        mlpProj = register("mlp_proj", new RowParallelLinear(linear(sd, "mlp.2."), pg));
    }

    private static <M extends Module> M copy(M m, Map<String, Tensor> sd, String prefix) {
        for (var e : m.stateDict().entrySet()) e.getValue().copyFrom(sd.get(prefix + e.getKey()));
        return m;
    }

    private static Linear linear(Map<String, Tensor> sd, String prefix) {
        Tensor w = sd.get(prefix + "weight");
        return copy(new Linear(w.size(1), w.size(0), sd.containsKey(prefix + "bias")), sd, prefix);
    }

    @Override
    public Tensor forward(Tensor x) {
        int b = x.size(0), t = x.size(1);
        Tensor h = TensorParallel.copyToRanks(ln1.forward(x), pg);
        Tensor q = h.linear(qWeight, qBias).view(b, t, heads, headSize).transpose(1, 2);   // (B, nh_r, T, hs)
        Tensor k = h.linear(kWeight, kBias).view(b, t, heads, headSize).transpose(1, 2);
        Tensor v = h.linear(vWeight, vBias).view(b, t, heads, headSize).transpose(1, 2);
        Tensor y = Functional.scaledDotProductAttention(q, k, v, null, causal)
                .transpose(1, 2).reshape(b, t, heads * headSize);                           // (B, T, nh_r * hs)
        x = x.add(attnOut.forward(y));
        return x.add(mlpProj.forward(mlpFc.forward(ln2.forward(x)).gelu()));
    }
}
