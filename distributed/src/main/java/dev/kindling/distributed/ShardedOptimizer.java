package dev.kindling.distributed;

import dev.kindling.optim.Optimizer;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
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
 * AdamW are such). Parameter groups (say, weight decay for matrices only) are kept: the flat vector holds
 * the groups one after another, and the shard optimizer gets one group per original group that overlaps
 * this rank's shard, with that group's lr and weight decay, holding one flat parameter. Gradients that are
 * null on a rank count as zeros. {@link #setMaxGradNorm} clips by the norm of the whole averaged gradient
 * (as {@code GradClip.clipGradNorm} would in one process), summing the shards' squares across ranks.
 * <pre>{@code
 * var opt = new ShardedOptimizer(model.parameters(), pg, ShardedOptimizer.Stage.TWO, p -> new AdamW(p, 3e-4));
 * opt.zeroGrad(); loss.backward(); opt.step();
 * }</pre>
 */
public final class ShardedOptimizer {
    /** Which ZeRO stage: optimizer state sharded (ONE), plus gradients reduce-scattered and released (TWO). */
    public enum Stage { ONE, TWO }

    private final List<Tensor> params = new ArrayList<>();
    /** Per original group: index of its first parameter in {@link #params} and its number of parameters. */
    private final int[] groupFirst, groupSize;
    private final ProcessGroup pg;
    private final Stage stage;
    private final int total, shardStart, shardLen;
    private final float[] flatParams, flatGrads;
    /** This rank's pieces of the flat vector, one per original group that overlaps the shard. */
    private final List<Tensor> pieces = new ArrayList<>();
    private final List<int[]> pieceRange = new ArrayList<>(); // {flat start, length, original group}
    private final Optimizer inner;
    private double maxGradNorm, lastGradNorm = Double.NaN;

    /**
     * Shards the optimizer state of {@code params} over {@code pg}; {@code optimizer} builds the optimizer
     * for this rank's shard (given a list holding one flat parameter), e.g. {@code p -> new AdamW(p, 3e-4)}.
     */
    public ShardedOptimizer(List<Tensor> params, ProcessGroup pg, Stage stage, Function<List<Tensor>, Optimizer> optimizer) {
        this(List.of(new ParamGroup(params, 0, 0)), pg, stage, groups -> optimizer.apply(groups.getFirst().params), false);
    }

    /**
     * Shards the optimizer state of parameter groups over {@code pg}; {@code optimizer} builds the shard
     * optimizer from this rank's groups (same lr and weight decay as the originals, one flat parameter each),
     * e.g. {@code g -> new AdamW(g, 0.9, 0.99, 1e-8)}.
     */
    public static ShardedOptimizer ofGroups(List<ParamGroup> groups, ProcessGroup pg, Stage stage,
                                            Function<List<ParamGroup>, Optimizer> optimizer) {
        return new ShardedOptimizer(groups, pg, stage, optimizer, true);
    }

    private ShardedOptimizer(List<ParamGroup> groups, ProcessGroup pg, Stage stage, Function<List<ParamGroup>, Optimizer> optimizer,
                             boolean keepGroupSettings) {
        if (groups.isEmpty()) throw new IllegalArgumentException("ShardedOptimizer: no parameter groups");
        this.pg = pg;
        this.stage = stage;
        groupFirst = new int[groups.size()];
        groupSize = new int[groups.size()];
        long sum = 0;
        List<long[]> groupRange = new ArrayList<>();
        for (int gi = 0; gi < groups.size(); gi++) {
            groupFirst[gi] = params.size();
            groupSize[gi] = groups.get(gi).params.size();
            long from = sum;
            for (Tensor p : groups.get(gi).params) {
                params.add(p);
                sum += p.numel();
            }
            groupRange.add(new long[] {from, sum});
        }
        if (params.isEmpty()) throw new IllegalArgumentException("ShardedOptimizer: no parameters");
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
        List<ParamGroup> mine = new ArrayList<>();
        for (int gi = 0; gi < groups.size(); gi++) {
            int from = (int) Math.max(groupRange.get(gi)[0], shardStart), to = (int) Math.min(groupRange.get(gi)[1], shardStart + shardLen);
            if (to <= from) continue;
            Tensor piece = Tensor.fromArray(java.util.Arrays.copyOfRange(flatParams, from, to), to - from).requiresGrad(true);
            piece.setGrad(Tensor.zeros(to - from));
            pieces.add(piece);
            pieceRange.add(new int[] {from, to - from, gi});
            ParamGroup g = groups.get(gi);
            mine.add(keepGroupSettings ? new ParamGroup(List.of(piece), g.lr, g.weightDecay) : new ParamGroup(List.of(piece), 0, 0));
        }
        // more ranks than parameters: an empty shard, this rank only relays
        inner = mine.isEmpty() ? null : optimizer.apply(mine);
    }

    /**
     * Clips the averaged gradient to an L2 norm of at most {@code maxNorm} before each update (0 turns it
     * off), as {@code GradClip.clipGradNorm(params, maxNorm)} does in one process.
     */
    public void setMaxGradNorm(double maxNorm) {
        if (!(maxNorm >= 0)) throw new IllegalArgumentException("ShardedOptimizer: max gradient norm must be >= 0, got " + maxNorm);
        this.maxGradNorm = maxNorm;
    }

    /** The whole averaged gradient's norm before clipping at the last step (NaN before it, or without clipping). */
    public double lastGradNorm() {
        return lastGradNorm;
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
        if (maxGradNorm > 0) clipShard();
        readParams(); // the parameters may have been changed since the last step (a loaded checkpoint)
        if (inner != null) {
            for (int i = 0; i < pieces.size(); i++) {
                int from = pieceRange.get(i)[0], len = pieceRange.get(i)[1];
                System.arraycopy(flatParams, from, pieces.get(i).floatData(), 0, len);
                System.arraycopy(flatGrads, from, pieces.get(i).grad().floatData(), 0, len);
            }
            inner.step();
            for (int i = 0; i < pieces.size(); i++)
                System.arraycopy(pieces.get(i).floatData(), 0, flatParams, pieceRange.get(i)[0], pieceRange.get(i)[1]);
        }
        pg.allGather(flatParams, 0, total);
        writeParams();
    }

    /** Scales this rank's gradient shard so that the whole gradient's norm is at most maxGradNorm. */
    private void clipShard() {
        double ss = 0;
        for (int i = shardStart; i < shardStart + shardLen; i++) ss += (double) flatGrads[i] * flatGrads[i];
        float[] total = {(float) ss};
        pg.allReduce(total, ReduceOp.SUM);
        lastGradNorm = Math.sqrt(total[0]);
        double scale = maxGradNorm / (lastGradNorm + 1e-6);
        if (scale < 1) for (int i = shardStart; i < shardStart + shardLen; i++) flatGrads[i] *= (float) scale;
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() {
        for (Tensor p : params) p.zeroGrad();
    }

    /** Sets the learning rate of every group of this rank's shard optimizer. */
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

    /**
     * The optimizer over this rank's shard (schedules set its groups' lr), or null if the shard is empty
     * (more ranks than parameters).
     */
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
     * The optimizer state laid out as a single-process optimizer over the same parameter groups would save
     * it — {@code step} and {@code <group>.<param>.<buffer>} — so a checkpoint of a sharded run loads into a
     * plain optimizer and, through {@link #loadStateDict}, into a sharded run of any world size. A collective:
     * every rank calls it (each buffer is all-gathered) and gets the whole dict. Needs at least one parameter
     * per rank.
     */
    public Map<String, Tensor> stateDict() {
        requireShard("stateDict");
        Map<String, Tensor> shardState = inner.stateDict();
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        out.put("step", shardState.get("step"));
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        for (String k : shardState.keySet()) if (!k.equals("step")) names.add(k.split("\\.", 3)[2]);
        for (String name : names) {
            float[] flat = new float[total];
            for (int i = 0; i < pieces.size(); i++) {
                Tensor v = shardState.get(i + ".0." + name);
                if (v != null) System.arraycopy(v.toFloatArray(), 0, flat, pieceRange.get(i)[0], pieceRange.get(i)[1]);
            }
            pg.allGather(flat, 0, total);
            int o = 0;
            for (int gi = 0; gi < groupFirst.length; gi++)
                for (int pi = 0; pi < groupSize[gi]; pi++) {
                    int n = params.get(groupFirst[gi] + pi).numel();
                    out.put(gi + "." + pi + "." + name, Tensor.fromArray(java.util.Arrays.copyOfRange(flat, o, o + n), n));
                    o += n;
                }
        }
        return out;
    }

    /**
     * Restores a state dict in the single-process layout (from {@link #stateDict()} or a plain optimizer over
     * the same parameter groups): each rank keeps its shard. Every parameter must have every buffer.
     */
    public void loadStateDict(Map<String, Tensor> sd) {
        requireShard("loadStateDict");
        Tensor step = sd.get("step");
        if (step == null) throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: no 'step'");
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        for (String k : sd.keySet()) {
            if (k.equals("step")) continue;
            String[] parts = k.split("\\.", 3);
            if (parts.length != 3 || !parts[0].matches("\\d+") || Integer.parseInt(parts[0]) >= groupFirst.length)
                throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: key '" + k + "' is not of the form <group>.<param>.<buffer> with a group below "
                        + groupFirst.length);
            names.add(parts[2]);
        }
        Map<String, Tensor> shardState = new java.util.LinkedHashMap<>();
        shardState.put("step", step);
        for (String name : names) {
            float[] flat = new float[total];
            int o = 0;
            for (int gi = 0; gi < groupFirst.length; gi++)
                for (int pi = 0; pi < groupSize[gi]; pi++) {
                    String key = gi + "." + pi + "." + name;
                    Tensor v = sd.get(key);
                    int n = params.get(groupFirst[gi] + pi).numel();
                    if (v == null || v.numel() != n)
                        throw new IllegalArgumentException("ShardedOptimizer.loadStateDict: '" + key + "' is "
                                + (v == null ? "missing" : "of " + v.numel() + " values") + " for a parameter of " + n);
                    System.arraycopy(v.toFloatArray(), 0, flat, o, n);
                    o += n;
                }
            for (int i = 0; i < pieces.size(); i++) {
                int from = pieceRange.get(i)[0], len = pieceRange.get(i)[1];
                shardState.put(i + ".0." + name, Tensor.fromArray(java.util.Arrays.copyOfRange(flat, from, from + len), len));
            }
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
