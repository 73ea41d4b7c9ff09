package dev.kindling.distributed;

import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * ZeRO stages 1 and 2 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
 * Models", 2020): data-parallel training in which each rank keeps optimizer state for only its shard of the
 * parameters. The parameters are laid end to end in one flat vector; rank r owns the contiguous shard
 * {@link ProcessGroup#shardStart}{@code (P, n, r)} of it and runs the wrapped optimizer on that shard only,
 * so optimizer state per rank is 1/n of what a replicated optimizer keeps (AdamW: 2P/n floats instead of 2P).
 *
 * <p>{@link #step()} averages the gradients across ranks — stage 1 with an all-reduce, stage 2 with a
 * reduce-scatter (half the traffic) after which the full gradients are released — updates this rank's shard,
 * and all-gathers the updated shards so every replica ends the step with the same parameters. Use it
 * instead of {@link DistributedDataParallel}, not with it: it does the gradient averaging itself. The
 * constructor broadcasts rank 0's parameters.
 *
 * <p>The wrapped optimizer must update each element from that element's own gradient and state (SGD, Adam,
 * AdamW are such); it sees one flat parameter, so it has one parameter group. Gradients that are null on a
 * rank count as zeros.
 * <pre>{@code
 * var opt = new ShardedOptimizer(model.parameters(), pg, ShardedOptimizer.Stage.TWO, p -> new AdamW(p, 3e-4));
 * opt.zeroGrad(); loss.backward(); opt.step();
 * }</pre>
 */
public final class ShardedOptimizer {
    /** Which ZeRO stage: optimizer state sharded (ONE), plus gradients reduce-scattered and released (TWO). */
    public enum Stage { ONE, TWO }

    private final List<Tensor> params;
    private final ProcessGroup pg;
    private final Stage stage;
    private final int total, shardStart, shardLen;
    private final float[] flatParams, flatGrads;
    private final Tensor shard;
    private final Optimizer inner;

    /**
     * Shards the optimizer state of {@code params} over {@code pg}; {@code optimizer} builds the optimizer
     * for this rank's shard (given a list holding one flat parameter), e.g. {@code p -> new AdamW(p, 3e-4)}.
     */
    public ShardedOptimizer(List<Tensor> params, ProcessGroup pg, Stage stage, Function<List<Tensor>, Optimizer> optimizer) {
        if (params.isEmpty()) throw new IllegalArgumentException("ShardedOptimizer: no parameters");
        this.params = List.copyOf(params);
        this.pg = pg;
        this.stage = stage;
        long sum = 0;
        for (Tensor p : params) sum += p.numel();
        if (sum > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("ShardedOptimizer: " + sum + " parameters exceed one flat float array");
        total = (int) sum;
        shardStart = ProcessGroup.shardStart(total, pg.worldSize(), pg.rank());
        shardLen = ProcessGroup.shardLength(total, pg.worldSize(), pg.rank());
        flatParams = new float[total];
        flatGrads = new float[total];
        readParams();
        pg.broadcast(flatParams, 0, total, 0);
        writeParams();
        if (shardLen > 0) {
            shard = Tensor.fromArray(java.util.Arrays.copyOfRange(flatParams, shardStart, shardStart + shardLen), shardLen).requiresGrad(true);
            shard.setGrad(Tensor.zeros(shardLen));
            inner = optimizer.apply(List.of(shard));
        } else {
            shard = null; // more ranks than parameters: this rank only relays
            inner = null;
        }
    }

    /** Averages gradients across ranks, updates this rank's shard, and gathers the updated parameters. */
    public void step() {
        int o = 0;
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g == null) java.util.Arrays.fill(flatGrads, o, o + p.numel(), 0f);
            else Flat.read(g, flatGrads, o);
            o += p.numel();
        }
        if (stage == Stage.ONE) pg.allReduce(flatGrads, 0, total, ReduceOp.AVG);
        else {
            pg.reduceScatter(flatGrads, 0, total, ReduceOp.AVG);
            for (Tensor p : params) p.zeroGrad(); // stage 2 keeps only the gradient shard
        }
        readParams(); // the parameters may have been changed since the last step (a loaded checkpoint)
        if (inner != null) {
            float[] sp = shard.floatData();
            System.arraycopy(flatParams, shardStart, sp, 0, shardLen);
            System.arraycopy(flatGrads, shardStart, shard.grad().floatData(), 0, shardLen);
            inner.step();
            System.arraycopy(sp, 0, flatParams, shardStart, shardLen);
        }
        pg.allGather(flatParams, 0, total);
        writeParams();
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() {
        for (Tensor p : params) p.zeroGrad();
    }

    /** Sets the learning rate of this rank's shard optimizer (schedules call this on every rank each step). */
    public void setLr(double lr) {
        if (inner != null) inner.setLr(lr);
    }

    /** The stage. */
    public Stage stage() {
        return stage;
    }

    /** First index of this rank's shard in the flattened parameters. */
    public int shardStart() {
        return shardStart;
    }

    /** Length of this rank's shard of the flattened parameters. */
    public int shardLength() {
        return shardLen;
    }

    /** The optimizer over this rank's shard, or null if the shard is empty (more ranks than parameters). */
    public Optimizer shardOptimizer() {
        return inner;
    }

    /** Floats of optimizer state this rank holds (the step counter excluded): what sharding divides by n. */
    public long stateFloats() {
        if (inner == null) return 0;
        long n = 0;
        for (Map.Entry<String, Tensor> e : inner.stateDict().entrySet()) if (!e.getKey().equals("step")) n += e.getValue().numel();
        return n;
    }

    /**
     * The optimizer state laid out as a single-process optimizer over the same parameters (one group) would
     * save it — {@code step} and {@code 0.<param>.<buffer>} — so a checkpoint of a sharded run loads into a
     * plain optimizer and, through {@link #loadStateDict}, into a sharded run of any world size. A collective:
     * every rank calls it (each buffer is all-gathered) and gets the whole dict. Needs at least one parameter
     * per rank.
     */
    public Map<String, Tensor> stateDict() {
        requireShard("stateDict");
        Map<String, Tensor> shardState = inner.stateDict();
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        out.put("step", shardState.get("step"));
        for (var e : shardState.entrySet()) {
            if (e.getKey().equals("step")) continue;
            String name = e.getKey().substring("0.0.".length());
            float[] flat = new float[total];
            System.arraycopy(e.getValue().toFloatArray(), 0, flat, shardStart, shardLen);
            pg.allGather(flat, 0, total);
            int o = 0;
            for (int i = 0; i < params.size(); i++) {
                int n = params.get(i).numel();
                out.put("0." + i + "." + name, Tensor.fromArray(java.util.Arrays.copyOfRange(flat, o, o + n), n));
                o += n;
            }
        }
        return out;
    }

    /**
     * Restores a state dict in the single-process layout (from {@link #stateDict()} or a plain optimizer over
     * the same parameters): each rank keeps its shard. Every parameter must have every buffer.
     */
    public void loadStateDict(Map<String, Tensor> sd) {
        requireShard("loadStateDict");
        Tensor step = sd.get("step");
        if (step == null) throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: no 'step'");
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        for (String k : sd.keySet()) {
            if (k.equals("step")) continue;
            String[] parts = k.split("\\.", 3);
            if (parts.length != 3 || !parts[0].equals("0"))
                throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: key '" + k + "' is not of the form 0.<param>.<buffer>");
            names.add(parts[2]);
        }
        Map<String, Tensor> shardState = new java.util.LinkedHashMap<>();
        shardState.put("step", step);
        for (String name : names) {
            float[] flat = new float[total];
            int o = 0;
            for (int i = 0; i < params.size(); i++) {
                Tensor v = sd.get("0." + i + "." + name);
                int n = params.get(i).numel();
                if (v == null || v.numel() != n)
                    throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: '0." + i + "." + name + "' is "
                            + (v == null ? "missing" : "of " + v.numel() + " values") + " for a parameter of " + n);
                System.arraycopy(v.toFloatArray(), 0, flat, o, n);
                o += n;
            }
            shardState.put("0.0." + name, Tensor.fromArray(java.util.Arrays.copyOfRange(flat, shardStart, shardStart + shardLen), shardLen));
        }
        inner.loadStateDict(shardState);
    }

    private void requireShard(String op) {
        if (inner == null)
            throw new IllegalStateException("ShardedOptimizer." + op + ": " + total + " parameters leave rank " + pg.rank()
                    + " of " + pg.worldSize() + " an empty shard");
    }

    private void readParams() {
        int o = 0;
        for (Tensor p : params) {
            Flat.read(p, flatParams, o);
            o += p.numel();
        }
    }

    private void writeParams() {
        int o = 0;
        for (Tensor p : params) {
            Flat.write(flatParams, o, p);
            o += p.numel();
        }
    }
}
