package dev.kindling.bench;

import dev.kindling.distributed.DistributedDataParallel;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.distributed.TcpProcessGroup;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Data-parallel training throughput of nanoGPT's baby GPT (4 layers, 4 heads, 128 wide, block 64, vocabulary
 * 65, global batch 12, AdamW, gradient clipping 1.0): the same global batch on 1 rank and on N ranks, each
 * rank a JVM with one kernel thread, the ranks started the way {@code kindling launch} starts them. Prints
 * one JSON line per configuration and round (tokens/s of the whole group, ms per iteration, and the ms per
 * iteration rank 0 spent waiting in {@code syncGradients} — what overlapping did not hide — and rank 0's CPU
 * milliseconds per iteration by thread: training, communication, GC, JIT), then the speed-up. The timed
 * iterations measure steady state: they start once the JIT compilers of every rank are quiet (at least
 * {@code --warmup} iterations, default 300, then until the compiler threads used under 2% of the CPU in 50
 * iterations, at most {@code --max-warmup}, default 1500; the line says how many it took). With 40, the
 * compilers still took 3-10 ms per iteration on each rank, on the core the other rank needs: the methods
 * called once per step (forward, backward's driver, the optimizer step) reach their first compiled tier
 * only after 200 calls, and a quiet stretch of 20 steps before that is no sign of steady state.
 *
 * <p>Two definitions of the speed-up, chosen by {@code --scaling}:
 * <ul>
 * <li>{@code strong} (the default): the global batch stays {@code --batch} (12) and N ranks split it, each
 * training on batch / N rows; the speed-up is how much faster the same optimisation runs.
 * <li>{@code weak}: every rank trains on {@code --batch} rows, so the global batch grows to N × batch —
 * nanoGPT's DDP recipe (the micro-batch per rank stays {@code batch_size}; gradient accumulation steps are
 * divided by the world size, and the baby GPT has none), and how PyTorch DDP throughput is usually reported.
 * The 1-rank baseline trains on {@code --batch} rows.
 * </ul>
 * {@code --batch N} with strong scaling sets the global batch, e.g. 6 on one rank to compare with one rank's
 * share of a 2-rank run. {@code --ceiling} adds a third configuration to every round: N independent
 * single-rank JVMs training at the same time on the rows one rank of the DDP run trains on, whose summed
 * tokens/s is what that split of the work can reach on this machine with no communication at all (the
 * summary's {@code ceiling_speedup}). Every DDP run checks at the end that all ranks hold bit-identical
 * parameters ({@code replicas_identical} in rank 0's line) and fails otherwise. Next to each wall-clock
 * speed-up the summary gives its CPU-time form ({@code cpu_speedup}, {@code ceiling_cpu_speedup}): rows of the
 * group per row of the 1-rank run, times the 1-rank process's CPU per iteration over a rank's — the speed-up
 * if every rank had a core to itself and never waited, which a shared machine distorts far less.
 * {@code --jvm-arg ARG} passes an option to every rank's JVM ({@code {rank}} and {@code {n}} in it are replaced),
 * e.g. a flight recording per rank.
 * <pre>java ... dev.kindling.bench.DataParallelBench [--ranks 2] [--scaling strong|weak] [--iters 30] [--warmup 300] [--max-warmup 1500] [--batch 12] [--rounds 3] [--ceiling] [--jvm-arg ARG]</pre>
 * Also the ZeRO memory figure: {@code --zero-state} prints the AdamW state each rank holds at world sizes
 * 1, 2, 4 and 8 (ranks as threads), for the baby GPT.
 */
public final class DataParallelBench {
    private static final int LAYERS = 4, HEADS = 4, EMBD = 128, BLOCK = 64, VOCAB = 65;
    /** Warm-up is checked every WINDOW iterations; it ends when the compilers used under QUIET_JIT of the CPU. */
    private static final int WINDOW = 50;
    private static final double QUIET_JIT = 0.02;

    public static void main(String[] args) throws Exception {
        if (System.getenv("RANK") != null) {
            worker(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            return;
        }
        int ranks = 2, iters = 30, rounds = 3, warmup = 300, maxWarmup = 1500, batch = 12;
        boolean zeroState = false, ceiling = false, weak = false;
        List<String> jvmArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ranks" -> ranks = Integer.parseInt(args[++i]);
                case "--iters" -> iters = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--max-warmup" -> maxWarmup = Integer.parseInt(args[++i]);
                case "--jvm-arg" -> jvmArgs.add(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--zero-state" -> zeroState = true;
                case "--ceiling" -> ceiling = true;
                case "--scaling" -> weak = switch (args[++i]) {
                    case "weak" -> true;
                    case "strong" -> false;
                    default -> throw new IllegalArgumentException("DataParallelBench: --scaling must be strong or weak, got " + args[i]);
                };
                default -> throw new IllegalArgumentException("DataParallelBench: unknown option " + args[i]
                        + " (use --ranks N, --scaling strong|weak, --iters N, --warmup N, --max-warmup N, --batch N, --rounds N, --jvm-arg ARG, --ceiling, --zero-state)");
            }
        }
        if (ranks < 1 || batch < 1 || (!weak && batch % ranks != 0))
            throw new IllegalArgumentException("DataParallelBench: with " + (weak ? "weak" : "strong") + " scaling --batch " + batch
                    + " must be positive" + (weak ? "" : " and divisible by --ranks " + ranks) + ", and --ranks " + ranks + " positive");
        if (zeroState) {
            ZeroState.print(config());
            return;
        }
        // the global batch of the DDP run, and the rows of one of its ranks (what each independent JVM trains on)
        int global = weak ? batch * ranks : batch, perRank = global / ranks;
        // per configuration and round: tokens/s of the group, and a rank's process CPU ms per iteration
        double[][] single = new double[2][rounds], multi = new double[2][rounds], apart = new double[2][rounds];
        for (int r = 0; r < rounds; r++) { // alternate, so that all see the same background load
            store(single, r, run(1, false, warmup, maxWarmup, iters, batch, jvmArgs));
            store(multi, r, run(ranks, false, warmup, maxWarmup, iters, global, jvmArgs));
            if (ceiling) store(apart, r, run(ranks, true, warmup, maxWarmup, iters, perRank, jvmArgs));
        }
        // The CPU speed-up is what the group would reach if every rank had a core to itself and never waited:
        // (rows of the group / rows of one rank alone) x (one rank's CPU per iteration / a DDP rank's). It uses
        // CPU time, which background load distorts far less than wall time, and still counts what two ranks
        // running at once cost each other (shared caches and memory make each one's iteration take more CPU).
        double rowsRatio = (double) global / batch, cpu1 = median(single[1]);
        String ceilingPart = ceiling ? String.format(Locale.ROOT, ",\"median_tokens_per_s_independent\":%.0f,\"ceiling_speedup\":%.2f,"
                        + "\"median_cpu_ms_per_iter_independent\":%.1f,\"ceiling_cpu_speedup\":%.2f",
                median(apart[0]), median(apart[0]) / median(single[0]), median(apart[1]), rowsRatio * cpu1 / median(apart[1])) : "";
        System.out.printf(Locale.ROOT, "{\"summary\":true,\"scaling\":\"%s\",\"ranks\":%d,\"batch_1_rank\":%d,\"global_batch_%d\":%d,\"rows_per_rank\":%d,"
                        + "\"median_tokens_per_s_1\":%.0f,\"median_tokens_per_s_%d\":%.0f,\"speedup\":%.2f,"
                        + "\"median_cpu_ms_per_iter_1\":%.1f,\"median_cpu_ms_per_iter_%d\":%.1f,\"cpu_speedup\":%.2f%s}%n",
                weak ? "weak" : "strong", ranks, batch, ranks, global, perRank, median(single[0]), ranks, median(multi[0]),
                median(multi[0]) / median(single[0]), cpu1, ranks, median(multi[1]), rowsRatio * cpu1 / median(multi[1]), ceilingPart);
    }

    private static void store(double[][] into, int round, double[] result) {
        into[0][round] = result[0];
        into[1][round] = result[1];
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static GptConfig config() {
        return new GptConfig(VOCAB, BLOCK, LAYERS, HEADS, EMBD, 0, true);
    }

    /**
     * Starts {@code n} rank JVMs with one kernel thread each, splitting a global batch of {@code batch} rows,
     * and returns the group's tokens/s and rank 0's process CPU ms per iteration; with {@code independent},
     * {@code n} single-rank JVMs that each train on {@code batch} rows at the same time, the sum of their
     * tokens/s (what the machine gives for that split with no communication at all) and their mean CPU ms.
     */
    private static double[] run(int n, boolean independent, int warmup, int maxWarmup, int iters, int batch, List<String> jvmArgs)
            throws Exception {
        List<Process> procs = new ArrayList<>();
        int port = freePort();
        for (int r = 0; r < n; r++) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-XX:+UseParallelGC", "-Dkindling.threads=1"));
            for (String a : jvmArgs) cmd.add(a.replace("{rank}", Integer.toString(r)).replace("{n}", Integer.toString(n)));
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DataParallelBench.class.getName(),
                    Integer.toString(warmup), Integer.toString(maxWarmup), Integer.toString(iters), Integer.toString(batch)));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("MASTER_ADDR", "127.0.0.1");
            pb.environment().put("MASTER_PORT", Integer.toString(independent && r > 0 ? freePort() : port));
            pb.environment().put("RANK", Integer.toString(independent ? 0 : r));
            pb.environment().put("WORLD_SIZE", Integer.toString(independent ? 1 : n));
            pb.redirectError(ProcessBuilder.Redirect.DISCARD); // the incubator-module warning
            procs.add(pb.start());
        }
        double tokensPerS = 0, cpuMs = 0;
        int reporting = independent ? n : 1;
        for (int r = 0; r < reporting; r++) {
            String line = null;
            try (var in = new BufferedReader(new InputStreamReader(procs.get(r).getInputStream()))) {
                for (String l; (l = in.readLine()) != null; ) line = l;
            }
            if (line == null) throw new IllegalStateException("DataParallelBench: rank " + r + " of " + n + " printed nothing");
            System.out.println(independent ? "{\"independent\":" + r + "," + line.substring(1) : line);
            tokensPerS += field(line, "tokens_per_s");
            cpuMs += field(line, "process_cpu_ms_per_iter") / reporting;
        }
        for (Process p : procs)
            if (p.waitFor() != 0) throw new IllegalStateException("DataParallelBench: a rank of " + n + " failed with code " + p.exitValue());
        return new double[] {tokensPerS, cpuMs};
    }

    /** The number after {@code "key":} in a rank's JSON line. */
    private static double field(String line, String key) {
        int at = line.indexOf("\"" + key + "\":");
        if (at < 0) throw new IllegalStateException("DataParallelBench: no " + key + " in a rank's line: " + line);
        int from = at + key.length() + 3;
        int to = from;
        while (to < line.length() && ",}".indexOf(line.charAt(to)) < 0) to++;
        return Double.parseDouble(line.substring(from, to));
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * One rank: its share of every batch, DDP over the group (none on 1 rank), timed once the JIT compilers
     * are quiet: after at least {@code warmup} iterations, windows of {@link #WINDOW} iterations until the
     * compiler threads of every rank used under {@link #QUIET_JIT} of their process's CPU in a window (or
     * {@code maxWarmup} iterations passed). The C2 compiles of the kernels take 0.1-1 s each, and methods
     * called once per step are compiled only after a few hundred steps; until then a rank's compiler thread
     * takes 3-10 ms per step of the core the other rank needs.
     */
    private static void worker(int warmup, int maxWarmup, int iters, int batch) {
        try (TcpProcessGroup pg = TcpProcessGroup.fromEnvironment()) {
            int n = pg.worldSize(), r = pg.rank();
            Parallel.setThreads(1);
            var model = new Gpt(config(), new Generator(1));
            var ddp = n > 1 ? new DistributedDataParallel(model, pg) : null;
            List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
            for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
            var opt = new AdamW(List.of(new ParamGroup(decay, 1e-3, 0.1), new ParamGroup(noDecay, 1e-3, 0)), 0.9, 0.99, 1e-8);
            int from = batch * r / n, to = batch * (r + 1) / n;
            Generator g = new Generator(7);
            long[] syncNanos = {0};
            Runnable step = () -> {
                Tensor x = Tensor.randint(g, 0, VOCAB, batch, BLOCK), y = Tensor.randint(g, 0, VOCAB, batch, BLOCK);
                Tensor logits = model.forward(x.narrow(0, from, to - from));
                Tensor loss = Functional.crossEntropy(logits.reshape(-1, VOCAB), y.narrow(0, from, to - from).reshape(-1))
                        .mul((double) n * (to - from) / batch);
                loss.backward();
                if (ddp != null) {
                    long s = System.nanoTime();
                    ddp.syncGradients();
                    syncNanos[0] += System.nanoTime() - s;
                }
                GradClip.clipGradNorm(model.parameters(), 1.0);
                opt.step();
                opt.zeroGrad();
            };
            String mainName = Thread.currentThread().getName();
            int warmed = 0;
            for (; warmed < warmup; warmed++) step.run();
            while (warmed < maxWarmup) {
                ThreadCpu.Snapshot before = ThreadCpu.snapshot();
                for (int i = 0; i < WINDOW; i++) step.run();
                warmed += WINDOW;
                Map<String, Double> roles = ThreadCpu.byRole(before, ThreadCpu.snapshot(), mainName, WINDOW);
                double all = roles.values().stream().mapToDouble(Double::doubleValue).sum();
                float[] jitShare = {(float) (roles.get("jit") / all)};
                pg.allReduce(jitShare, ReduceOp.MAX); // every rank must stop warming up at the same step
                if (jitShare[0] < QUIET_JIT) break;
            }
            var threadMx = java.lang.management.ManagementFactory.getThreadMXBean();
            var osMx = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            pg.barrier();
            long t0 = System.nanoTime(), cpu0 = threadMx.getCurrentThreadCpuTime(), proc0 = osMx.getProcessCpuTime();
            ThreadCpu.Snapshot threads0 = ThreadCpu.snapshot();
            syncNanos[0] = 0;
            for (int it = 0; it < iters; it++) step.run();
            double secs = (System.nanoTime() - t0) / 1e9;
            // CPU time of the training thread and of the whole process (the communication thread included):
            // what a rank costs when it has a core to itself, which a loaded machine hides in the wall time
            double cpuMs = (threadMx.getCurrentThreadCpuTime() - cpu0) / 1e6 / iters, procMs = (osMx.getProcessCpuTime() - proc0) / 1e6 / iters;
            // per role (training thread, communication thread, GC, JIT, ...): where the process time beyond
            // the training thread goes
            StringBuilder roles = new StringBuilder();
            ThreadCpu.byRole(threads0, ThreadCpu.snapshot(), mainName, iters)
                    .forEach((role, ms) -> roles.append(String.format(Locale.ROOT, ",\"%s\":%.2f", role, ms)));
            boolean identical = replicasIdentical(model.parameters(), pg);
            if (!identical)
                throw new IllegalStateException("DataParallelBench: rank " + r + " of " + n + " holds parameters that differ from rank 0's after "
                        + (warmed + iters) + " DDP steps");
            if (r == 0)
                System.out.printf(Locale.ROOT, "{\"ranks\":%d,\"threads_per_rank\":1,\"global_batch\":%d,\"rows_per_rank\":%d,\"replicas_identical\":%b,\"warmup_iters\":%d,\"tokens_per_s\":%.0f,\"ms_per_iter\":%.1f,"
                                + "\"sync_wait_ms_per_iter\":%.2f,\"train_thread_cpu_ms_per_iter\":%.1f,\"process_cpu_ms_per_iter\":%.1f,\"buckets\":%d,"
                                + "\"transport\":\"%s\",\"cpu_ms_per_iter_by_thread\":{%s}}%n",
                        n, batch, to - from, identical, warmed, (double) iters * batch * BLOCK / secs, secs * 1e3 / iters, syncNanos[0] / 1e6 / iters, cpuMs, procMs,
                        ddp == null ? 0 : ddp.bucketCount(), n == 1 ? "none" : pg.sharedMemory() ? "shm" : "tcp", roles.substring(1));
        }
    }

    /**
     * Whether every rank holds bit for bit rank 0's parameters (a collective: every rank calls it): DDP keeps the
     * replicas identical, whatever rows each rank trained on.
     */
    private static boolean replicasIdentical(List<Tensor> params, ProcessGroup pg) {
        int total = 0;
        for (Tensor p : params) total += p.numel();
        float[] mine = new float[total];
        int o = 0;
        for (Tensor p : params) {
            float[] v = p.toFloatArray();
            System.arraycopy(v, 0, mine, o, v.length);
            o += v.length;
        }
        float[] rank0 = mine.clone();
        pg.broadcast(rank0, 0, total, 0);
        float[] differs = {Arrays.equals(mine, rank0) ? 0f : 1f};
        pg.allReduce(differs, ReduceOp.MAX);
        return differs[0] == 0f;
    }

    /** AdamW state per rank under ZeRO at several world sizes, ranks as threads of this JVM. */
    static final class ZeroState {
        private ZeroState() {}

        static void print(GptConfig cfg) throws Exception {
            long params = new Gpt(cfg, new Generator(1)).parameterCount();
            System.out.printf(Locale.ROOT, "baby GPT, %,d parameters; AdamW state per rank (exp_avg + exp_avg_sq) under ZeRO-1%n", params);
            for (int n : new int[] {1, 2, 4, 8}) {
                List<long[]> perRank = ThreadRanks.run(n, pg -> {
                    var model = new Gpt(cfg, new Generator(1));
                    var opt = new ShardedOptimizer(model.parameters(), pg, ShardedOptimizer.Stage.ONE, p -> new AdamW(p, 1e-3));
                    Tensor x = Tensor.randint(new Generator(2), 0, VOCAB, 2, BLOCK);
                    Functional.crossEntropy(model.forward(x).reshape(-1, VOCAB), x.reshape(-1)).backward();
                    opt.step(); // the state is created by the first step
                    float[] check = {opt.stateFloats()};
                    pg.allReduce(check, ReduceOp.SUM);
                    return new long[] {opt.stateFloats(), (long) check[0]};
                });
                long max = perRank.stream().mapToLong(a -> a[0]).max().orElseThrow();
                System.out.printf(Locale.ROOT, "{\"world_size\":%d,\"state_bytes_per_rank_max\":%d,\"state_bytes_all_ranks\":%d,\"replicated_bytes\":%d}%n",
                        n, 4 * max, 4 * perRank.get(0)[1], 8 * params);
            }
        }
    }
}
