package dev.kindling.distributed;

import dev.kindling.nn.Functional;
import dev.kindling.nn.LayerNorm;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GPT-2 block (pre-LayerNorm; Hugging Face names and layouts: packed {@code attn.c_attn}, Conv1D weights
 * [in, out], tanh GELU) split across ranks in the Megatron way. Rank r computes attention heads
 * {@code [shardStart(heads, n, r), shardStart(heads, n, r + 1))}: it holds those heads' columns of
 * {@code c_attn} (the q, k and v parts) and the matching rows of {@code attn.c_proj}; and its share of the
 * MLP's 4E hidden features: columns of {@code mlp.c_fc}, rows of {@code mlp.c_proj}. Each half costs one
 * all-reduce forward and one backward; LayerNorms and the output biases are replicated. The parameters keep
 * the single-process names, with this rank's part as value ({@link TensorParallel#layouts} says which part),
 * so a checkpoint gathers into a plain GPT-2 state dict. Dropout is not supported.
 * <p>Shape: [B, T, E] → [B, T, E], the same on every rank.
 */
public final class TensorParallelGpt2Block extends Module implements Sharded {
    private final ProcessGroup pg;
    private final LayerNorm ln1, ln2;
    private final Tensor cAttnW, cAttnB, attnProjW, attnProjB, fcW, fcB, mlpProjW, mlpProjB;
    private final int embedDim, headSize, heads;
    private final Map<String, ShardLayout> layouts = new LinkedHashMap<>();

    /**
     * This rank's part of the block whose weights are {@code full} (keys relative to the block:
     * {@code ln_1.weight}, {@code attn.c_attn.weight}, ..., biases optional as in GPT-2 with {@code bias=false}).
     * Needs at least as many heads as ranks.
     */
    public TensorParallelGpt2Block(Map<String, Tensor> full, int numHeads, double layerNormEps, ProcessGroup pg) {
        Tensor cAttn = full.get("attn.c_attn.weight");
        if (cAttn == null || cAttn.dim() != 2 || cAttn.size(1) != 3 * cAttn.size(0))
            throw new IllegalArgumentException("TensorParallelGpt2Block: needs attn.c_attn.weight of shape [E, 3E], got "
                    + (cAttn == null ? "none" : java.util.Arrays.toString(cAttn.shape())));
        this.pg = pg;
        embedDim = cAttn.size(0);
        int e = embedDim;
        if (e % numHeads != 0)
            throw new IllegalArgumentException("TensorParallelGpt2Block: embed dim " + e + " is not divisible by " + numHeads + " heads");
        if (numHeads < pg.worldSize())
            throw new IllegalArgumentException("TensorParallelGpt2Block: " + numHeads + " heads cannot be split over " + pg.worldSize() + " ranks");
        headSize = e / numHeads;
        heads = ProcessGroup.shardLength(numHeads, pg.worldSize(), pg.rank());
        int from = ProcessGroup.shardStart(numHeads, pg.worldSize(), pg.rank()) * headSize, len = heads * headSize;
        int hidden = full.get("mlp.c_fc.weight").size(1);
        int f0 = ProcessGroup.shardStart(hidden, pg.worldSize(), pg.rank()), fn = ProcessGroup.shardLength(hidden, pg.worldSize(), pg.rank());
        boolean bias = full.containsKey("attn.c_attn.bias");
        int[] qkv = {from, e + from, 2 * e + from};
        layouts.put("attn.c_attn.weight", new ShardLayout(new int[] {e, 3 * e}, 1, qkv, len));
        layouts.put("attn.c_proj.weight", new ShardLayout(new int[] {e, e}, 0, new int[] {from}, len));
        layouts.put("mlp.c_fc.weight", new ShardLayout(new int[] {e, hidden}, 1, new int[] {f0}, fn));
        layouts.put("mlp.c_proj.weight", new ShardLayout(new int[] {hidden, e}, 0, new int[] {f0}, fn));
        if (bias) {
            layouts.put("attn.c_attn.bias", new ShardLayout(new int[] {3 * e}, 0, qkv, len));
            layouts.put("mlp.c_fc.bias", new ShardLayout(new int[] {hidden}, 0, new int[] {f0}, fn));
        }
        // registration order and names as in the single-process GPT-2 block, so parameters() lines up with it
        ln1 = register("ln_1", new LayerNorm(new int[] {e}, layerNormEps, full.containsKey("ln_1.bias")));
        Holder attn = register("attn", new Holder());
        cAttnW = attn.child("c_attn").add("weight", part(full, "attn.c_attn.weight"));
        cAttnB = bias ? attn.child("c_attn").add("bias", part(full, "attn.c_attn.bias")) : null;
        attnProjW = attn.child("c_proj").add("weight", part(full, "attn.c_proj.weight"));
        attnProjB = bias ? attn.child("c_proj").add("bias", part(full, "attn.c_proj.bias")) : null;
        ln2 = register("ln_2", new LayerNorm(new int[] {e}, layerNormEps, full.containsKey("ln_2.bias")));
        Holder mlp = register("mlp", new Holder());
        fcW = mlp.child("c_fc").add("weight", part(full, "mlp.c_fc.weight"));
        fcB = bias ? mlp.child("c_fc").add("bias", part(full, "mlp.c_fc.bias")) : null;
        mlpProjW = mlp.child("c_proj").add("weight", part(full, "mlp.c_proj.weight"));
        mlpProjB = bias ? mlp.child("c_proj").add("bias", part(full, "mlp.c_proj.bias")) : null;
        for (String ln : List.of("ln_1", "ln_2")) {
            LayerNorm m = ln.equals("ln_1") ? ln1 : ln2;
            m.weight.copyFrom(required(full, ln + ".weight"));
            if (m.bias != null) m.bias.copyFrom(required(full, ln + ".bias"));
        }
    }

    private Tensor part(Map<String, Tensor> full, String name) {
        Tensor t = required(full, name);
        ShardLayout l = layouts.get(name);
        return l == null ? Tensor.fromArray(t.toFloatArray(), t.shape()) : l.slice(t);
    }

    private static Tensor required(Map<String, Tensor> full, String name) {
        Tensor t = full.get(name);
        if (t == null) throw new IllegalArgumentException("TensorParallelGpt2Block: no '" + name + "' among " + full.keySet());
        return t;
    }

    @Override
    public Map<String, ShardLayout> shardLayouts() {
        return layouts;
    }

    @Override
    public Tensor forward(Tensor x) {
        int b = x.size(0), t = x.size(1), len = heads * headSize;
        Tensor h = TensorParallel.copyToRanks(ln1.forward(x), pg);
        Tensor qkv = h.matmul(cAttnW);                                                      // (B, T, 3 len)
        if (cAttnB != null) qkv = qkv.add(cAttnB);
        List<Tensor> parts = qkv.split(len, 2);
        Tensor q = parts.get(0).view(b, t, heads, headSize).transpose(1, 2);              // (B, nh_r, T, hs)
        Tensor k = parts.get(1).view(b, t, heads, headSize).transpose(1, 2);
        Tensor v = parts.get(2).view(b, t, heads, headSize).transpose(1, 2);
        Tensor y = Functional.scaledDotProductAttention(q, k, v, null, true)
                .transpose(1, 2).reshape(b, t, len);                                        // (B, T, len)
        Tensor a = TensorParallel.reduceFromRanks(y.matmul(attnProjW), pg);                 // (B, T, E)
        x = x.add(attnProjB == null ? a : a.add(attnProjB));
        Tensor f = TensorParallel.copyToRanks(ln2.forward(x), pg).matmul(fcW);              // (B, T, 4E_r)
        if (fcB != null) f = f.add(fcB);
        Tensor m = TensorParallel.reduceFromRanks(f.geluTanh().matmul(mlpProjW), pg);      // (B, T, E)
        return x.add(mlpProjB == null ? m : m.add(mlpProjB));
    }

    /** A named group of parameters (attn, c_attn, ...) that only gives them their dotted names. */
    private static final class Holder extends Module {
        private final Map<String, Holder> children = new LinkedHashMap<>();

        Holder child(String name) {
            return children.computeIfAbsent(name, n -> register(n, new Holder()));
        }

        Tensor add(String name, Tensor value) {
            return registerParameter(name, value);
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new IllegalStateException("TensorParallelGpt2Block: its parameter groups are driven by the block's forward");
        }
    }
}
