package dev.kindling.cli;

import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ShardLayout;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.distributed.TcpProcessGroup;
import dev.kindling.distributed.TensorParallel;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The {@code --parallel} option of the train commands (a picocli mixin) and what its modes share: joining
 * the process group that {@code kindling launch} set up, each rank's share of a batch, and moving optimizer
 * state between a tensor-parallel model and the single-process layout of checkpoints.
 */
final class ParallelOptions {
    @Option(names = "--parallel", defaultValue = "none",
            description = "none, ddp, zero1, zero2 or tp: train over the ranks started by 'kindling launch' — data parallel, "
                    + "data parallel with sharded optimizer state (ZeRO stage 1 or 2), or tensor parallel (default ${DEFAULT-VALUE}).")
    String parallel;

    static final List<String> MODES = List.of("none", "ddp", "zero1", "zero2", "tp");

    /** Refuses an unknown mode. */
    void validate() {
        if (!MODES.contains(parallel))
            throw new IllegalArgumentException("--parallel must be none, ddp, zero1, zero2 or tp, got '" + parallel + "'");
    }

    boolean enabled() {
        return !parallel.equals("none");
    }

    boolean dataParallel() {
        return parallel.equals("ddp") || zero();
    }

    boolean zero() {
        return parallel.startsWith("zero");
    }

    boolean tensorParallel() {
        return parallel.equals("tp");
    }

    ShardedOptimizer.Stage stage() {
        return parallel.equals("zero1") ? ShardedOptimizer.Stage.ONE : ShardedOptimizer.Stage.TWO;
    }

    /** Joins the group described by the environment (the launcher's MASTER_ADDR, RANK, WORLD_SIZE, ...). */
    ProcessGroup join() {
        return TcpProcessGroup.fromEnvironment();
    }

    /**
     * This rank's rows {@code [from, to)} of a batch of {@code size}: rows [B r / n, B (r + 1) / n), so that the
     * shares differ by at most one row. Weighting each share's mean loss by {@code n (to - from) / size} makes
     * the average of the ranks' gradients the whole batch's mean-loss gradient.
     */
    static int[] share(int size, ProcessGroup pg) {
        int n = pg.worldSize(), r = pg.rank();
        return new int[] {(int) ((long) size * r / n), (int) ((long) size * (r + 1) / n)};
    }

    /**
     * An optimizer state dict of a tensor-parallel model in the single-process layout: buffer
     * {@code g.p.name} belongs to parameter {@code groupNames[g][p]}, whose layout says where its part goes.
     * A collective.
     */
    static Map<String, Tensor> gatherOptimizerState(Map<String, Tensor> local, List<List<String>> groupNames,
                                                   Map<String, ShardLayout> layouts, ProcessGroup pg) {
        Map<String, Tensor> shaped = new LinkedHashMap<>();
        Map<String, ShardLayout> keyLayouts = new LinkedHashMap<>();
        for (var e : local.entrySet()) {
            if (e.getKey().equals("step")) continue;
            ShardLayout l = layouts.get(paramOf(e.getKey(), groupNames));
            shaped.put(e.getKey(), e.getValue().reshape(l.localShape()));
            keyLayouts.put(e.getKey(), l);
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("step", local.get("step"));
        TensorParallel.gather(shaped, keyLayouts, pg).forEach((k, v) -> out.put(k, v.reshape(v.numel())));
        return out;
    }

    /** This rank's part of an optimizer state dict in the single-process layout (the reverse of gatherOptimizerState). */
    static Map<String, Tensor> sliceOptimizerState(Map<String, Tensor> full, List<List<String>> groupNames, Map<String, ShardLayout> layouts) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : full.entrySet()) {
            if (e.getKey().equals("step")) {
                out.put("step", e.getValue());
                continue;
            }
            ShardLayout l = layouts.get(paramOf(e.getKey(), groupNames));
            Tensor part = l.slice(e.getValue().reshape(l.fullShape()));
            out.put(e.getKey(), part.reshape(part.numel()));
        }
        return out;
    }

    /** The names of each group's parameters, in order (the optimizer state dict indexes them so). */
    static List<List<String>> groupNames(List<ParamGroup> groups, Map<String, Tensor> named) {
        Map<Tensor, String> names = new java.util.IdentityHashMap<>();
        named.forEach((k, v) -> names.put(v, k));
        return groups.stream().map(g -> g.params.stream().map(names::get).toList()).toList();
    }

    private static String paramOf(String key, List<List<String>> groupNames) {
        String[] parts = key.split("\\.", 3);
        try {
            return groupNames.get(Integer.parseInt(parts[0])).get(Integer.parseInt(parts[1]));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("optimizer state: key '" + key + "' names no parameter of the model");
        }
    }
}
