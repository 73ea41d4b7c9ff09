package dev.kindling.spark;

import dev.kindling.data.Batch;
import dev.kindling.data.Example;
import dev.kindling.nn.Functional;
import dev.kindling.nn.Module;
import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Tensor;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;

/**
 * Data-parallel training on a Spark cluster: one barrier stage of N tasks, one per partition of the data. Each
 * task maps its partition's rows to examples (its data shard), joins a TCP process group whose rendezvous goes
 * through the barrier tasks' {@code allGather}, and trains a replica with {@link
 * dev.kindling.distributed.DistributedDataParallel} or a ZeRO {@link dev.kindling.distributed.ShardedOptimizer},
 * using the executor's cores for its kernels. Step {@code s} of rank {@code r} uses rows
 * {@code [s b, (s + 1) b)} (wrapping around) of partition {@code r}, {@code b = batchSize / N}, so a run is
 * reproducible and equals a single process that trains on the concatenated shares.
 *
 * <p>With a checkpoint folder (any Hadoop file system URI), rank 0 writes the model and optimizer state every
 * {@code checkpointEvery} steps; when Spark re-runs the stage after a failed task (a barrier stage is retried
 * as a whole, up to {@code spark.stage.maxConsecutiveAttempts}), every rank loads the last checkpoint and
 * continues from it. A checkpoint folder that already holds a checkpoint when {@code fit} starts is resumed
 * as well. The final model goes to the output folder as {@code model.safetensors} + {@code config.json}
 * (a {@link dev.kindling.models.Gpt}'s config is written by itself), plus {@code tokenizer.json} when given,
 * which is what {@code kindling generate} loads. Progress reaches the driver's log with executor heartbeats.
 * <pre>{@code
 * TrainResult r = SparkTrainer.builder()
 *         .model(() -> new Gpt(cfg, new Generator(1337)))
 *         .optimizer(p -> new AdamW(p, 1e-3))
 *         .rows(SparkTrainer.tokenWindows("tokens"))
 *         .batchSize(64).steps(500)
 *         .checkpointDir("hdfs:///runs/gpt/checkpoints").outputDir("hdfs:///runs/gpt/model")
 *         .build().fit(windows);
 * }</pre>
 */
public final class SparkTrainer implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);

    /** Builds each rank's model; rank 0's initial weights are broadcast to the others. */
    @FunctionalInterface
    public interface ModelFactory extends Serializable {
        Module create();
    }

    /** Builds the optimizer over the given parameters (the whole model, or a ZeRO shard). */
    @FunctionalInterface
    public interface OptimizerFactory extends Serializable {
        Optimizer create(List<Tensor> parameters);
    }

    /** Turns one row into one example; the inputs (and targets) of a batch are stacked along a new dim 0. */
    @FunctionalInterface
    public interface RowMapper extends Serializable {
        Example map(Row row);
    }

    /** The loss of a model on a batch (a mean over the batch, so that averaging over ranks is exact). */
    @FunctionalInterface
    public interface LossFunction extends Serializable {
        Tensor loss(Module model, Batch batch);

        /**
         * Cross-entropy of logits {@code [..., C]} against class ids {@code [...]} (INT64), averaged over all
         * positions: classification ({@code [B, C]} vs {@code [B]}) and language modelling ({@code [B, T, V]}
         * vs {@code [B, T]}) alike.
         */
        static LossFunction crossEntropy() {
            return (model, batch) -> {
                Tensor logits = model.forward(batch.input());
                int c = logits.size(-1);
                return Functional.crossEntropy(logits.reshape(-1, c), batch.target().reshape(-1), -100, 0, Functional.Reduction.MEAN);
            };
        }
    }

    /** How replicas are kept equal. */
    public enum Strategy {
        /** Replicated optimizer, gradients all-reduced ({@link dev.kindling.distributed.DistributedDataParallel}). */
        DDP,
        /** ZeRO stage 1: optimizer state sharded over the ranks. */
        ZERO1,
        /** ZeRO stage 2: optimizer state sharded, gradients reduce-scattered. */
        ZERO2
    }

    final ModelFactory model;
    final OptimizerFactory optimizer;
    final RowMapper rows;
    final LossFunction loss;
    final Strategy strategy;
    final int batchSize, steps, epochs, numWorkers, checkpointEvery, threadsPerTask;
    final String checkpointDir, outputDir, tokenizerFile;
    final Map<String, Object> modelConfig;
    final double gradClip;
    final long seed;
    final Duration timeout;

    private SparkTrainer(Builder b) {
        model = b.model;
        optimizer = b.optimizer;
        rows = b.rows;
        loss = b.loss;
        strategy = b.strategy;
        batchSize = b.batchSize;
        steps = b.steps;
        epochs = b.epochs;
        numWorkers = b.numWorkers;
        checkpointEvery = b.checkpointEvery;
        threadsPerTask = b.threadsPerTask;
        checkpointDir = b.checkpointDir;
        outputDir = b.outputDir;
        tokenizerFile = b.tokenizerFile;
        modelConfig = b.modelConfig;
        gradClip = b.gradClip;
        seed = b.seed;
        timeout = b.timeout;
    }

    /** A builder; model, optimizer, rows and batch size must be set. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Maps rows holding a window of {@code T + 1} token ids (array of int or long) in {@code column} to a
     * language-model example: input ids {@code [0, T)}, targets {@code [1, T + 1)}, both INT64 {@code [T]}.
     */
    public static RowMapper tokenWindows(String column) {
        Objects.requireNonNull(column, "column");
        return row -> {
            List<Object> ids = row.getList(row.fieldIndex(column));
            if (ids == null || ids.size() < 2)
                throw new IllegalArgumentException("tokenWindows: column '" + column + "' holds " + (ids == null ? "null" : ids.size() + " ids")
                        + "; a window needs at least 2");
            int t = ids.size() - 1;
            long[] x = new long[t], y = new long[t];
            for (int i = 0; i < t; i++) {
                x[i] = ((Number) ids.get(i)).longValue();
                y[i] = ((Number) ids.get(i + 1)).longValue();
            }
            return new Example(Tensor.wrapLongs(x, t), Tensor.wrapLongs(y, t));
        };
    }

    /** Trains on the rows of {@code data}, one barrier task per partition (or per worker, if set). */
    public TrainResult fit(Dataset<Row> data) {
        return fit(data.javaRDD());
    }

    /** Trains on the rows of {@code data}, one barrier task per partition (or per worker, if set). */
    public TrainResult fit(JavaRDD<Row> data) {
        JavaRDD<Row> rdd = numWorkers > 0 && numWorkers != data.getNumPartitions() ? data.repartition(numWorkers) : data;
        int n = rdd.getNumPartitions();
        if (batchSize % n != 0)
            throw new IllegalArgumentException("SparkTrainer: batch size " + batchSize + " is not divisible by the " + n
                    + " workers (partitions); each rank takes an equal share");
        SparkContext sc = rdd.context();
        var progress = new TrainProgress(n);
        sc.register(progress.accumulator(), "kindling.train.progress");
        sc.addSparkListener(progress);
        long t0 = System.nanoTime();
        LOG.info("{} ranks, {} strategy, global batch {} ({} per rank), {}", n, strategy, batchSize, batchSize / n,
                steps > 0 ? steps + " steps" : epochs + " epoch(s)");
        TrainTask.Report report;
        try {
            var trained = rdd.rdd().barrier()
                    .mapPartitions(new TrainTask(this, HadoopFiles.of(sc.hadoopConfiguration()), progress.accumulator()), false,
                            ClassTag$.MODULE$.apply(TrainTask.Report.class));
            // Spark re-runs a failed barrier stage only when it is a shuffle map stage (a result stage may have
            // committed output), so the reports reach the driver through a shuffle
            List<TrainTask.Report> reports = JavaRDD.fromRDD(trained, ClassTag$.MODULE$.apply(TrainTask.Report.class))
                    .repartition(1).collect();
            report = reports.stream().filter(Objects::nonNull).findFirst()
                    .orElseThrow(() -> new IllegalStateException("SparkTrainer: rank 0 returned no report"));
        } finally {
            sc.removeSparkListener(progress);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        TrainResult result = new TrainResult(report.modelPath(), report.steps(), report.resumedFrom(), n, secs);
        LOG.info("{} steps in {} s, final loss {}{}", result.steps().size(), String.format("%.1f", secs),
                String.format("%.4f", result.finalLoss()), result.resumedFromStep() > 0 ? ", resumed at step " + result.resumedFromStep() : "");
        return result;
    }

    /** Settings of a {@link SparkTrainer}. */
    public static final class Builder {
        private ModelFactory model;
        private OptimizerFactory optimizer;
        private RowMapper rows;
        private LossFunction loss = LossFunction.crossEntropy();
        private Strategy strategy = Strategy.DDP;
        private int batchSize, steps, epochs = 1, numWorkers, checkpointEvery = 100, threadsPerTask;
        private String checkpointDir, outputDir, tokenizerFile;
        private Map<String, Object> modelConfig;
        private double gradClip;
        private long seed = 1337;
        private Duration timeout = Duration.ofSeconds(120);

        private Builder() {
        }

        /** The model factory, run on every rank. */
        public Builder model(ModelFactory f) {
            model = Objects.requireNonNull(f, "model");
            return this;
        }

        /** The optimizer factory, e.g. {@code p -> new AdamW(p, 3e-4)}. */
        public Builder optimizer(OptimizerFactory f) {
            optimizer = Objects.requireNonNull(f, "optimizer");
            return this;
        }

        /** Row → example mapping, e.g. {@link SparkTrainer#tokenWindows}. */
        public Builder rows(RowMapper f) {
            rows = Objects.requireNonNull(f, "rows");
            return this;
        }

        /** The loss (default {@link LossFunction#crossEntropy()}). */
        public Builder loss(LossFunction f) {
            loss = Objects.requireNonNull(f, "loss");
            return this;
        }

        public Builder strategy(Strategy s) {
            strategy = Objects.requireNonNull(s, "strategy");
            return this;
        }

        /** Global batch size, split equally over the ranks. */
        public Builder batchSize(int n) {
            batchSize = positive("batch size", n);
            return this;
        }

        /** Number of optimizer steps (overrides epochs). */
        public Builder steps(int n) {
            steps = positive("steps", n);
            return this;
        }

        /** Passes over the smallest partition (default 1; used when steps is not set). */
        public Builder epochs(int n) {
            epochs = positive("epochs", n);
            return this;
        }

        /** Number of barrier tasks: the data is repartitioned to this many (default: its partitions). */
        public Builder numWorkers(int n) {
            numWorkers = positive("workers", n);
            return this;
        }

        /** Hadoop file system folder for checkpoints (enables resuming a retried stage). */
        public Builder checkpointDir(String uri) {
            checkpointDir = Objects.requireNonNull(uri, "checkpointDir");
            return this;
        }

        /** Steps between checkpoints (default 100). */
        public Builder checkpointEvery(int n) {
            checkpointEvery = positive("checkpoint interval", n);
            return this;
        }

        /** Hadoop file system folder for the final model. */
        public Builder outputDir(String uri) {
            outputDir = Objects.requireNonNull(uri, "outputDir");
            return this;
        }

        /** A tokenizer.json (Hadoop URI) copied next to the final model. */
        public Builder tokenizer(String uri) {
            tokenizerFile = Objects.requireNonNull(uri, "tokenizer");
            return this;
        }

        /** The config.json to write next to the final model (default: a Gpt's own config, else none). */
        public Builder modelConfig(Map<String, Object> config) {
            modelConfig = Map.copyOf(config);
            return this;
        }

        /** Kernel threads per task (default: the executor's cores). */
        public Builder threadsPerTask(int n) {
            threadsPerTask = positive("threads per task", n);
            return this;
        }

        /** Clips the global gradient norm (DDP only: ZeRO ranks hold only a shard of the gradient). */
        public Builder gradClip(double maxNorm) {
            if (!(maxNorm > 0)) throw new IllegalArgumentException("SparkTrainer: grad clip must be positive, got " + maxNorm);
            gradClip = maxNorm;
            return this;
        }

        /** Seed of each rank's global generator (plus the rank), for dropout. */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /** How long a collective or the rendezvous may wait for a peer (default 120 s). */
        public Builder timeout(Duration t) {
            if (t.isNegative() || t.isZero()) throw new IllegalArgumentException("SparkTrainer: timeout must be positive, got " + t);
            timeout = t;
            return this;
        }

        public SparkTrainer build() {
            StringBuilder missing = new StringBuilder();
            if (model == null) missing.append(" model");
            if (optimizer == null) missing.append(" optimizer");
            if (rows == null) missing.append(" rows");
            if (batchSize == 0) missing.append(" batchSize");
            if (!missing.isEmpty()) throw new IllegalStateException("SparkTrainer: not set:" + missing);
            if (gradClip > 0 && strategy != Strategy.DDP)
                throw new IllegalStateException("SparkTrainer: gradClip needs the DDP strategy, got " + strategy);
            return new SparkTrainer(this);
        }

        private static int positive(String what, int n) {
            if (n <= 0) throw new IllegalArgumentException("SparkTrainer: " + what + " must be positive, got " + n);
            return n;
        }
    }
}
