package dev.kindling.spark;

import dev.kindling.data.Batch;
import dev.kindling.data.Example;
import dev.kindling.distributed.DistributedDataParallel;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.distributed.TcpProcessGroup;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.Gpt;
import dev.kindling.nn.Module;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.sql.Row;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/** The body of one barrier task of {@link SparkTrainer#fit}: rank {@code partitionId} of the training run. */
final class TrainTask extends AbstractFunction1<scala.collection.Iterator<Row>, scala.collection.Iterator<TrainTask.Report>>
        implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String CHECKPOINT = "checkpoint.safetensors";

    /** What rank 0 sends back to the driver. */
    record Report(String modelPath, List<StepMetrics> steps, int resumedFrom) implements Serializable {}

    private final SparkTrainer t;
    private final HadoopFiles files;
    private final TrainProgress.Latest progress;

    TrainTask(SparkTrainer trainer, HadoopFiles files, TrainProgress.Latest progress) {
        this.t = trainer;
        this.files = files;
        this.progress = progress;
    }

    @Override
    public scala.collection.Iterator<Report> apply(scala.collection.Iterator<Row> rows) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId(), n = ctx.getTaskInfos().length;
        if (t.threadsPerTask > 0) Parallel.setThreads(t.threadsPerTask);
        Generator.global().manualSeed(t.seed + rank);
        List<Example> examples = new ArrayList<>();
        for (Iterator<Row> it = CollectionConverters.asJava(rows); it.hasNext(); ) examples.add(t.rows.map(it.next()));

        // every rank derives the same step count from every rank's shard size
        String[] sizes = ctx.allGather(Integer.toString(examples.size()));
        int perRank = t.batchSize / n, smallest = Integer.MAX_VALUE;
        for (int r = 0; r < n; r++) {
            int s = Integer.parseInt(sizes[r]);
            if (s == 0) throw new IllegalArgumentException("SparkTrainer: partition " + r + " of " + n + " has no rows; every rank needs data");
            smallest = Math.min(smallest, s);
        }
        int steps = t.steps > 0 ? t.steps : Math.max(1, (int) ((long) t.epochs * smallest / perRank));

        Module model = t.model.create();
        // read the checkpoint before the rendezvous: no rank can write a new one until all have joined
        Checkpoint resume;
        try {
            resume = t.checkpointDir == null ? null : Checkpoint.read(files, HadoopFiles.child(t.checkpointDir, CHECKPOINT));
        } catch (IOException e) {
            throw HadoopFiles.unchecked("SparkTrainer rank " + rank + ": reading the checkpoint in " + t.checkpointDir, e);
        }
        if (resume != null) model.loadStateDict(resume.model());
        String host = hostOf(ctx.getTaskInfos()[rank].address());
        List<StepMetrics> metrics = new ArrayList<>(resume == null ? List.of() : resume.metrics());
        int start = resume == null ? 0 : resume.step();
        try (TcpProcessGroup pg = TcpProcessGroup.rendezvous(m -> List.of(ctx.allGather(m)), rank, n, host, t.timeout)) {
            DistributedDataParallel ddp = null;
            ShardedOptimizer zero = null;
            Optimizer opt = null;
            if (t.strategy == SparkTrainer.Strategy.DDP) {
                ddp = new DistributedDataParallel(model, pg);
                opt = t.optimizer.create(ddp.parameters());
                if (resume != null) opt.loadStateDict(resume.optimizer());
            } else {
                var stage = t.strategy == SparkTrainer.Strategy.ZERO1 ? ShardedOptimizer.Stage.ONE : ShardedOptimizer.Stage.TWO;
                zero = new ShardedOptimizer(model.parameters(), pg, stage, t.optimizer::create);
                if (resume != null) zero.loadStateDict(resume.optimizer());
            }
            float[] shared = new float[3 * n];
            for (int s = start; s < steps; s++) {
                Batch batch = batch(examples, s, perRank);
                long t0 = System.nanoTime();
                Tensor loss;
                if (ddp != null) {
                    opt.zeroGrad();
                    loss = t.loss.loss(ddp, batch);
                    loss.backward();
                    ddp.syncGradients();
                    if (t.gradClip > 0) GradClip.clipGradNorm(model.parameters(), t.gradClip);
                    opt.step();
                } else {
                    zero.zeroGrad();
                    loss = t.loss.loss(model, batch);
                    loss.backward();
                    zero.step();
                }
                double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
                java.util.Arrays.fill(shared, 0f);
                shared[rank] = (float) loss.item();
                shared[n + rank] = (float) (perRank / secs);
                shared[2 * n + rank] = (float) (batch.input().numel() / secs);
                pg.allReduce(shared, ReduceOp.SUM);
                double mean = 0;
                double[] eps = new double[n], tps = new double[n];
                for (int r = 0; r < n; r++) {
                    mean += shared[r] / n;
                    eps[r] = shared[n + r];
                    tps[r] = shared[2 * n + r];
                }
                if (!Double.isFinite(mean))
                    throw new IllegalStateException("SparkTrainer: the loss became " + mean + " at step " + s + " (rank losses "
                            + java.util.Arrays.toString(java.util.Arrays.copyOf(shared, n)) + "); lower the learning rate");
                metrics.add(new StepMetrics(s, mean, eps, tps));
                if (rank == 0) progress.add(new double[] {s, steps, mean});
                boolean due = t.checkpointDir != null && (s + 1) % t.checkpointEvery == 0 && s + 1 < steps;
                if (due) {
                    Map<String, Tensor> optState = zero != null ? zero.stateDict() : opt.stateDict(); // a collective for ZeRO
                    if (rank == 0) Checkpoint.write(files, HadoopFiles.child(t.checkpointDir, CHECKPOINT), model, optState, s + 1, metrics);
                }
            }
            String modelPath = rank == 0 && t.outputDir != null ? writeModel(model, metrics) : null;
            // nobody leaves before rank 0 has written: the job's end then means the model is there
            pg.barrier();
            List<Report> out = rank == 0 ? List.of(new Report(modelPath, metrics, start)) : List.of();
            return CollectionConverters.asScala(out.iterator());
        } catch (IOException e) {
            throw HadoopFiles.unchecked("SparkTrainer rank " + rank, e);
        }
    }

    /** Rows [s b, (s + 1) b) of the shard, wrapping around. */
    private static Batch batch(List<Example> examples, int step, int b) {
        List<Tensor> xs = new ArrayList<>(b), ys = new ArrayList<>(b);
        int m = examples.size();
        for (int i = 0; i < b; i++) {
            Example e = examples.get((int) (((long) step * b + i) % m));
            xs.add(e.input());
            ys.add(e.target());
        }
        return new Batch(Tensor.stack(xs, 0), Tensor.stack(ys, 0));
    }

    /** model.safetensors, config.json, tokenizer.json (if given) and metrics.jsonl into the output folder. */
    private String writeModel(Module model, List<StepMetrics> metrics) throws IOException {
        Path tmp = Files.createTempFile("kindling-model-", ".safetensors");
        try {
            StateDicts.save(tmp, model.stateDict(), Map.of("format", "pt"));
            files.upload(tmp, HadoopFiles.child(t.outputDir, "model.safetensors"));
        } finally {
            Files.deleteIfExists(tmp);
        }
        Map<String, Object> config = t.modelConfig != null ? t.modelConfig : model instanceof Gpt g ? g.config.toHuggingFace() : null;
        if (config != null) files.writeString(HadoopFiles.child(t.outputDir, "config.json"), Json.write(config) + "\n");
        if (t.tokenizerFile != null)
            files.writeString(HadoopFiles.child(t.outputDir, "tokenizer.json"), files.readString(t.tokenizerFile));
        StringBuilder lines = new StringBuilder();
        for (StepMetrics m : metrics) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("step", m.step());
            row.put("loss", m.loss());
            row.put("tokens_per_s", Math.round(m.totalTokensPerSecond()));
            lines.append(Json.write(row)).append('\n');
        }
        files.writeString(HadoopFiles.child(t.outputDir, "metrics.jsonl"), lines.toString());
        return t.outputDir;
    }

    /** The host part of a task's "host" or "host:port" address. */
    static String hostOf(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 && address.indexOf(':') == colon ? address.substring(0, colon) : address;
    }
}
