package dev.kindling.distributed;

import dev.kindling.autograd.Grad;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The two communication ops of Megatron-style tensor parallelism (Shoeybi et al., "Megatron-LM", 2019), as
 * differentiable ops: {@link #copyToRanks} (identity forward, all-reduce of the gradient backward — Megatron's
 * f) in front of a column-parallel layer, and {@link #reduceFromRanks} (all-reduce forward, identity backward
 * — g) behind a row-parallel layer. Between them each rank holds only its slice of the hidden features.
 *
 * <p>A model built from tensor-parallel modules names its parameters as its single-process twin does;
 * {@link #layouts} says which part of each twin parameter a rank holds, {@link #gather} assembles the twin's
 * state dict from the ranks (for a checkpoint that loads in one process), {@link #slice} cuts a rank's part
 * out of it (to resume from any checkpoint), and {@link #clipGradNorm} clips by the norm of the twin's whole
 * gradient.
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

    /**
     * How each parameter of {@code model} (by dotted name) maps into its single-process twin: the layouts of
     * the tensor-parallel modules inside it, and {@link ShardLayout#replicated} for every other parameter.
     */
    public static Map<String, ShardLayout> layouts(Module model) {
        Map<String, ShardLayout> out = new LinkedHashMap<>();
        for (var e : model.namedParameters().entrySet()) out.put(e.getKey(), ShardLayout.replicated(e.getValue().shape()));
        for (var m : model.namedModules().entrySet()) {
            if (!(m.getValue() instanceof Sharded sharded)) continue;
            String prefix = m.getKey().isEmpty() ? "" : m.getKey() + ".";
            sharded.shardLayouts().forEach((name, layout) -> out.put(prefix + name, layout));
        }
        return out;
    }

    /**
     * The full tensors of a tensor-parallel state: {@code local} holds this rank's parts, {@code layouts}
     * (keyed like {@code local}; missing keys mean replicated) where they go. A collective — every rank
     * calls it with the same keys in the same order and gets the whole result; replicated tensors are
     * taken from rank 0.
     */
    public static Map<String, Tensor> gather(Map<String, Tensor> local, Map<String, ShardLayout> layouts, ProcessGroup pg) {
        long total = 0;
        Map<String, ShardLayout> resolved = new LinkedHashMap<>();
        for (var e : local.entrySet()) {
            ShardLayout l = layouts.getOrDefault(e.getKey(), ShardLayout.replicated(e.getValue().shape()));
            if (!java.util.Arrays.equals(l.localShape(), e.getValue().shape()))
                throw new IllegalArgumentException("TensorParallel.gather: '" + e.getKey() + "' has shape " + java.util.Arrays.toString(e.getValue().shape())
                        + " but its layout (" + l + ") gives " + java.util.Arrays.toString(l.localShape()));
            resolved.put(e.getKey(), l);
            total += ShardLayout.numel(l.fullShape());
        }
        if (total > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("TensorParallel.gather: " + total + " values exceed one float array");
        // one all-reduce of everything: each rank writes its parts into zeros (replicated ones only on rank 0), so the sum is exact
        float[] flat = new float[(int) total];
        int o = 0;
        for (var e : resolved.entrySet()) {
            int n = ShardLayout.numel(e.getValue().fullShape());
            if (!e.getValue().isReplicated() || pg.rank() == 0) {
                float[] full = new float[n];
                e.getValue().place(local.get(e.getKey()).toFloatArray(), full);
                System.arraycopy(full, 0, flat, o, n);
            }
            o += n;
        }
        pg.allReduce(flat, 0, flat.length, ReduceOp.SUM);
        Map<String, Tensor> out = new LinkedHashMap<>();
        o = 0;
        for (var e : resolved.entrySet()) {
            int n = ShardLayout.numel(e.getValue().fullShape());
            out.put(e.getKey(), Tensor.fromArray(java.util.Arrays.copyOfRange(flat, o, o + n), e.getValue().fullShape()));
            o += n;
        }
        return out;
    }

    /** This rank's parts of the full tensors {@code full}, for the keys of {@code layouts} (missing from it: replicated). */
    public static Map<String, Tensor> slice(Map<String, Tensor> full, Map<String, ShardLayout> layouts) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : full.entrySet()) {
            ShardLayout l = layouts.getOrDefault(e.getKey(), ShardLayout.replicated(e.getValue().shape()));
            out.put(e.getKey(), l.slice(e.getValue()));
        }
        return out;
    }

    /**
     * Scales the gradients of {@code model} so that the norm of the twin's whole gradient is at most
     * {@code maxNorm}, and returns that norm before clipping: split parameters contribute their parts from
     * every rank, replicated ones (whose gradients are equal on all ranks) once. A collective.
     */
    public static double clipGradNorm(Module model, double maxNorm, ProcessGroup pg) {
        Map<String, ShardLayout> layouts = layouts(model);
        double ss = 0;
        for (var e : model.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            if (g == null) continue;
            double part = 0;
            for (float v : g.toFloatArray()) part += (double) v * v;
            ss += layouts.get(e.getKey()).isReplicated() ? part / pg.worldSize() : part;
        }
        float[] sum = {(float) ss};
        pg.allReduce(sum, ReduceOp.SUM);
        double norm = Math.sqrt(sum[0]);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            for (Tensor p : model.parameters()) if (p.grad() != null) p.setGrad(Tensor.fromArray(scaled(p.grad(), scale), p.shape()));
        return norm;
    }

    private static float[] scaled(Tensor g, double scale) {
        float[] v = g.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] *= (float) scale;
        return v;
    }
}
