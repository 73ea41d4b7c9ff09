package dev.kindling.cli;

import dev.kindling.data.Batch;
import dev.kindling.data.DataLoader;
import dev.kindling.data.FashionMnist;
import dev.kindling.data.TensorDataset;
import dev.kindling.distributed.DistributedDataParallel;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.distributed.TensorParallel;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.Mlp;
import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.optim.Adam;
import dev.kindling.optim.GradScaler;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code kindling train mlp}: the seed's SimpleNN (784-500-10, ReLU, cross-entropy, Adam) on MNIST-format
 * IDX files, with a progress bar, metrics.jsonl, curves.png, model.safetensors + config.json, and an
 * epoch checkpoint that --resume continues exactly.
 *
 * <p>With {@code --parallel ddp|zero1|zero2}, run under {@code kindling launch}: every rank reads the same
 * shuffled batches and trains on its share of each; gradients are averaged by {@link DistributedDataParallel}
 * (ddp) or by a {@link ShardedOptimizer} that keeps 1/n of Adam's state per rank (zero1, zero2); rank 0 alone
 * evaluates and writes the run folder. With {@code --parallel tp} every rank trains on the whole batch with its
 * slice of the hidden layer ({@link TensorParallelMlp}). The checkpoint has the single-process layout (sharded
 * model and optimizer state are gathered), so a run resumes with any number of ranks and any of these modes.
 */
@Command(name = "mlp", mixinStandardHelpOptions = true,
        description = "Train the SimpleNN MLP on Fashion-MNIST/MNIST IDX files (or a generated task without --data).")
final class TrainMlpCommand implements Callable<Integer> {
    @Option(names = "--data", description = "Folder with train-images-idx3-ubyte[.gz] etc. Without it: a generated 10-class task.")
    Path data;
    @Option(names = "--epochs", defaultValue = "5") int epochs;
    @Option(names = "--batch-size", defaultValue = "64") int batchSize;
    @Option(names = "--lr", defaultValue = "0.001") double lr;
    @Option(names = "--hidden", defaultValue = "500") int hidden;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--out", defaultValue = "runs/mlp", description = "Output folder (default ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--resume", description = "Continue the run whose output folder this is, with the settings in its config.json.") Path resume;
    @Option(names = "--limit", description = "Use only the first N training and N/6 test examples (quick runs).") Integer limit;
    @Option(names = "--threads", description = "Kernel threads (default: all cores).") Integer threads;
    @Option(names = "--quiet", description = "No progress bar.") boolean quiet;
    @Mixin ParallelOptions par = new ParallelOptions();
    @Option(names = "--precision", defaultValue = "fp32",
            description = "fp32, bf16 or fp16: autocast the forward pass to 16 bits (fp16 with loss scaling); default ${DEFAULT-VALUE}.")
    String precisionName;
    @Spec CommandSpec spec;

    static final String CHECKPOINT = "checkpoint.safetensors";

    @Override
    public Integer call() throws Exception {
        if (epochs <= 0) throw new IllegalArgumentException("--epochs must be positive, got " + epochs);
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        if (hidden <= 0) throw new IllegalArgumentException("--hidden must be positive, got " + hidden);
        if (limit != null && limit <= 0) throw new IllegalArgumentException("--limit must be positive, got " + limit);
        par.validate();
        Precision.parse(precisionName);
        if (!precisionName.equals("fp32") && par.tensorParallel()) // the split layers' collectives carry float32 only
            throw new IllegalArgumentException("--parallel tp trains in fp32 only, got --precision " + precisionName);
        if (precisionName.equals("fp16") && par.zero())
            throw new IllegalArgumentException("--precision fp16 needs loss scaling, which --parallel " + par.parallel + " does not support; use bf16 or ddp");
        if (threads != null) Parallel.setThreads(threads);
        if (par.enabled()) {
            try (ProcessGroup pg = par.join()) {
                return train(pg);
            }
        }
        return train(null);
    }

    private int train(ProcessGroup pg) throws Exception {
        int rank = pg == null ? 0 : pg.rank(), world = pg == null ? 1 : pg.worldSize();
        boolean lead = rank == 0;
        if (resume != null) {
            if (!Files.isDirectory(resume)) throw new IllegalArgumentException("--resume " + resume + " is not a folder");
            out = resume;
            if (!Files.isRegularFile(resume.resolve(CHECKPOINT)))
                throw new IllegalArgumentException("--resume " + resume + ": no " + CHECKPOINT + " in that folder");
            adoptRunSettings(resume);
        }

        TensorDataset train, test;
        if (data != null) {
            if (!Files.isDirectory(data)) throw new IllegalArgumentException("--data " + data + " is not a folder");
            train = FashionMnist.train(data);
            test = FashionMnist.test(data);
        } else {
            train = generated(60_000, seed);
            test = generated(10_000, seed + 1);
        }
        if (limit != null) {
            train = ClassifierRuns.head(train, Math.min(limit, train.size()));
            test = ClassifierRuns.head(test, Math.min(Math.max(1, limit / 6), test.size()));
        }
        int inputs = train.inputs().size(1);

        Generator.global().manualSeed(seed);
        var model = new Mlp(inputs, hidden, 10, new Generator(seed));
        var run = new RunDirectory(out);
        StateDicts.Loaded loaded = resume == null ? null : StateDicts.load(run.file(CHECKPOINT));
        if (loaded != null) model.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "model."));
        var ddp = par.parallel.equals("ddp") ? new DistributedDataParallel(model, pg) : null;
        var tp = par.tensorParallel() ? new TensorParallelMlp(model, pg) : null;
        dev.kindling.nn.Module net = tp != null ? tp : model;
        var zero = par.zero() ? new ShardedOptimizer(model.parameters(), pg, par.stage(), p -> new Adam(p, lr)) : null;
        var optimizer = zero == null ? new Adam(net.parameters(), lr) : null;
        var groupNames = optimizer == null ? null : ParallelOptions.groupNames(optimizer.paramGroups(), net.namedParameters());
        var layouts = tp == null ? null : TensorParallel.layouts(tp);
        var criterion = new CrossEntropyLoss();
        var loader = DataLoader.builder(train).batchSize(batchSize).shuffle(seed).build();
        Precision precision = Precision.parse(precisionName);
        GradScaler scaler = precision.scaler();

        int startEpoch = 0;
        if (loaded != null) {
            var optimState = StateDicts.withPrefix(loaded.tensors(), "optim.");
            if (zero != null) zero.loadStateDict(optimState);
            else if (tp != null) optimizer.loadStateDict(ParallelOptions.sliceOptimizerState(optimState, groupNames, layouts));
            else optimizer.loadStateDict(optimState);
            Precision.loadScaler(scaler, loaded.tensors(), resume);
            startEpoch = Integer.parseInt(loaded.metadata().getOrDefault("epoch", "0"));
            Generator.global().setState(StateDicts.parseState(loaded.metadata().get("rng")));
            run.loadMetrics(startEpoch);
            System.out.printf("resuming %s after epoch %d%n", out, startEpoch);
        }
        if (lead) run.writeJson("config.json", config(inputs));
        System.out.printf("SimpleNN %d-%d-10: %,d parameters; %d train / %d test examples; %d threads; %s%s%n",
                inputs, hidden, model.parameterCount(), train.size(), test.size(), Parallel.threads(), precision.label(),
                pg == null ? "" : "; rank " + rank + " of " + world + " (" + par.parallel + ")");
        float[] lossSlot = new float[1];

        for (int epoch = startEpoch; epoch < epochs; epoch++) {
            long t0 = System.nanoTime();
            loader.setEpoch(epoch);
            model.train();
            double lossSum = 0;
            int seen = 0;
            try (var bar = Progress.start("epoch " + (epoch + 1) + "/" + epochs, loader.numBatches(), quiet || !lead)) {
                for (Batch b : loader) {
                    net.zeroGrad();
                    float l;
                    if (pg == null || tp != null) {
                        Tensor loss;
                        try (var ac = precision.autocast()) {
                            loss = criterion.forward(net.forward(b.input()), b.target());
                        }
                        scaler.scale(loss).backward();
                        l = loss.item();
                    } else {
                        l = shareStep(ddp != null ? ddp : model, ddp, pg, criterion, b, lossSlot, precision, scaler);
                    }
                    if (zero != null) {
                        zero.step();
                    } else {
                        scaler.step(optimizer);
                        scaler.update();
                    }
                    if (!Float.isFinite(l) && !scaler.isEnabled()) throw new IllegalStateException("loss became " + l + " in epoch " + (epoch + 1) + "; lower --lr");
                    lossSum += l * b.size();
                    seen += b.size();
                    bar.step(b.size(), lossSum / seen);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            // gathering sharded state is a collective: every rank takes part, rank 0 writes
            Map<String, Tensor> optimState = zero != null ? zero.stateDict()
                    : tp != null ? ParallelOptions.gatherOptimizerState(optimizer.stateDict(), groupNames, layouts, pg)
                    : lead ? optimizer.stateDict() : null;
            if (tp != null) model.loadStateDict(TensorParallel.gather(tp.stateDict(), layouts, pg)); // rank 0 evaluates the whole model
            if (!lead) continue; // rank 0 evaluates and writes; the others wait for it in the next collective
            double[] eval = ClassifierRuns.evaluate(model, criterion, test, 1000);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("epoch", epoch + 1);
            m.put("train_loss", RunDirectory.round(lossSum / seen));
            m.put("test_loss", RunDirectory.round(eval[0]));
            m.put("test_accuracy", RunDirectory.round(eval[1]));
            m.put("seconds", Math.round(seconds * 1000) / 1000.0);
            run.appendMetrics(m);
            System.out.printf("epoch %d/%d  train loss %.4f  test loss %.4f  test accuracy %.4f  %.1f s%n",
                    epoch + 1, epochs, lossSum / seen, eval[0], eval[1], seconds);
            ClassifierRuns.saveCheckpoint(run, CHECKPOINT, model, optimState, Precision.scalerState(scaler), epoch + 1);
            Curves.write(run.file("curves.png"), run.metrics(), "epoch", List.of("train_loss", "test_loss"),
                    List.of("test_accuracy"), "SimpleNN");
        }
        if (tp != null) model.loadStateDict(TensorParallel.gather(tp.stateDict(), layouts, pg));
        if (pg != null) pg.barrier(); // nobody exits (closing the ring) while rank 0 still writes
        if (!lead) return 0;
        StateDicts.save(run.file("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        System.out.println("wrote " + run.file("model.safetensors") + ", metrics.jsonl, curves.png");
        return 0;
    }

    /**
     * One rank's share of a batch: rows [B r / n, B (r + 1) / n). The loss is weighted by the share's size so
     * that averaging the gradients over ranks gives the whole batch's mean-loss gradient even when B is not
     * divisible by n (the sharded optimizer averages likewise). Returns the whole batch's mean loss.
     */
    private static float shareStep(dev.kindling.nn.Module forward, DistributedDataParallel ddp, ProcessGroup pg,
                                   CrossEntropyLoss criterion, Batch b, float[] lossSlot, Precision precision,
                                   GradScaler scaler) {
        int n = pg.worldSize(), r = pg.rank(), size = b.size();
        int from = (int) ((long) size * r / n), to = (int) ((long) size * (r + 1) / n);
        lossSlot[0] = 0;
        if (to > from) {
            Tensor loss;
            try (var ac = precision.autocast()) {
                loss = criterion.forward(forward.forward(b.input().narrow(0, from, to - from)), b.target().narrow(0, from, to - from));
            }
            scaler.scale(loss.mul((double) n * (to - from) / size)).backward();
            lossSlot[0] = loss.item() * (to - from) / size;
        }
        if (ddp != null) ddp.syncGradients(); // a sharded optimizer averages in its step
        pg.allReduce(lossSlot, 0, 1, ReduceOp.SUM);
        return lossSlot[0];
    }

    /**
     * A resumed run keeps the settings it started with, from its config.json: options not given again are
     * taken from there (so {@code --resume OUT --epochs 8} continues on the same data), and options given
     * again must agree, since a changed setting would not continue the run exactly.
     */
    private void adoptRunSettings(Path dir) throws java.io.IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--resume " + dir + ": no config.json in that folder");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = RunDirectory.JSON.readValue(file.toFile(), Map.class);
        ParseResult given = spec.commandLine().getParseResult();
        try {
            Object savedData = c.get("data");
            Path saved = "generated".equals(savedData) ? null : Path.of((String) savedData);
            Path now = data == null ? null : data.toAbsolutePath().normalize();
            data = ClassifierRuns.resumeSetting(given, "--data", now, saved);
            batchSize = ClassifierRuns.resumeSetting(given, "--batch-size", batchSize, ((Number) c.get("batch_size")).intValue());
            lr = ClassifierRuns.resumeSetting(given, "--lr", lr, ((Number) c.get("lr")).doubleValue());
            hidden = ClassifierRuns.resumeSetting(given, "--hidden", hidden, ((Number) c.get("hidden_size")).intValue());
            seed = ClassifierRuns.resumeSetting(given, "--seed", seed, ((Number) c.get("seed")).longValue());
            limit = ClassifierRuns.resumeSetting(given, "--limit", limit, c.get("limit") == null ? null : ((Number) c.get("limit")).intValue());
            precisionName = ClassifierRuns.resumeSetting(given, "--precision", precisionName, (String) c.getOrDefault("precision", "fp32"));
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("--resume " + dir + ": config.json lacks a setting or has one of the wrong type (" + e.getMessage() + ")");
        }
    }

    private Map<String, Object> config(int inputs) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", "mlp");
        c.put("input_size", inputs);
        c.put("hidden_size", hidden);
        c.put("num_classes", 10);
        c.put("epochs", epochs);
        c.put("batch_size", batchSize);
        c.put("lr", lr);
        c.put("seed", seed);
        c.put("limit", limit);
        c.put("precision", precisionName);
        c.put("data", data == null ? "generated" : data.toAbsolutePath().normalize().toString());
        return c;
    }

    /** A generated 10-class task shaped like MNIST: noisy copies of 10 random 784-pixel prototypes. */
    static TensorDataset generated(int n, long seed) {
        Generator protoGen = new Generator(12345);
        Tensor protos = Tensor.rand(protoGen, 10, 784);
        Generator g = new Generator(seed);
        float[] x = new float[n * 784];
        long[] y = new long[n];
        float[] p = protos.toFloatArray();
        for (int i = 0; i < n; i++) {
            int c = g.nextInt(10);
            y[i] = c;
            for (int j = 0; j < 784; j++) x[i * 784 + j] = Math.clamp(p[c * 784 + j] + 0.6f * (float) g.nextGaussian(), 0f, 1f);
        }
        return new TensorDataset(Tensor.wrap(x, n, 784), Tensor.wrapLongs(y, n).to(DType.INT64));
    }
}
