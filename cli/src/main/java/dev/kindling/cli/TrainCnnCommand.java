package dev.kindling.cli;

import dev.kindling.data.Batch;
import dev.kindling.data.Cifar10;
import dev.kindling.data.DataLoader;
import dev.kindling.data.Dataset;
import dev.kindling.data.Datasets;
import dev.kindling.data.FashionMnist;
import dev.kindling.data.TensorDataset;
import dev.kindling.data.Transforms;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.ResNet;
import dev.kindling.models.SmallCnn;
import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.nn.Module;
import dev.kindling.optim.GradScaler;
import dev.kindling.optim.SGD;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code kindling train cnn}: an image classifier (the small VGG-style CNN or ResNet-20) on CIFAR-10 binaries
 * or MNIST-format IDX files, detected from the files in --data; SGD with momentum 0.9, cross-entropy, inputs
 * normalised per channel with the training set's statistics, and for CIFAR-10 random crops (padding 4) and
 * horizontal flips. Outputs as {@code train mlp}: progress bar, metrics.jsonl, curves.png, model.safetensors +
 * config.json, and an epoch checkpoint that --resume continues exactly.
 */
@Command(name = "cnn", mixinStandardHelpOptions = true,
        description = "Train a CNN (small or resnet20) on CIFAR-10 binaries or Fashion-MNIST/MNIST IDX files (or a generated task without --data).")
final class TrainCnnCommand implements Callable<Integer> {
    @Option(names = "--data", description = "Folder with CIFAR-10 binaries (data_batch_1.bin ... test_batch.bin) or IDX files."
            + " Without it: a generated 10-class 3x32x32 task.")
    Path data;
    @Option(names = "--model", defaultValue = "small", description = "small or resnet20 (default ${DEFAULT-VALUE}).") String model;
    @Option(names = "--epochs", defaultValue = "5") int epochs;
    @Option(names = "--batch-size", defaultValue = "64") int batchSize;
    @Option(names = "--lr", description = "SGD learning rate (default 0.01 for small, 0.05 for resnet20).") Double lr;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--out", defaultValue = "runs/cnn", description = "Output folder (default ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--resume", description = "Continue the run whose output folder this is, with the settings in its config.json.") Path resume;
    @Option(names = "--limit", description = "Use only the first N training and N/6 test examples (quick runs).") Integer limit;
    @Option(names = "--no-augment", description = "No random crops and flips on CIFAR-10.") boolean noAugment;
    @Option(names = "--threads", description = "Kernel threads (default: all cores).") Integer threads;
    @Option(names = "--quiet", description = "No progress bar.") boolean quiet;
    @Option(names = "--precision", defaultValue = "fp32",
            description = "fp32, bf16 or fp16: autocast the forward pass to 16 bits (fp16 with loss scaling); default ${DEFAULT-VALUE}.")
    String precisionName;
    @Spec CommandSpec spec;

    static final String CHECKPOINT = "checkpoint.safetensors";
    static final double MOMENTUM = 0.9;

    @Override
    public Integer call() throws Exception {
        if (epochs <= 0) throw new IllegalArgumentException("--epochs must be positive, got " + epochs);
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
        if (lr != null && !(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        if (limit != null && limit <= 0) throw new IllegalArgumentException("--limit must be positive, got " + limit);
        if (!model.equals("small") && !model.equals("resnet20"))
            throw new IllegalArgumentException("--model must be small or resnet20, got " + model);
        if (threads != null) Parallel.setThreads(threads);
        if (resume != null) {
            if (!Files.isDirectory(resume)) throw new IllegalArgumentException("--resume " + resume + " is not a folder");
            out = resume;
            if (!Files.isRegularFile(resume.resolve(CHECKPOINT)))
                throw new IllegalArgumentException("--resume " + resume + ": no " + CHECKPOINT + " in that folder");
            adoptRunSettings(resume);
        }
        if (lr == null) lr = model.equals("small") ? 0.01 : 0.05;

        TensorDataset train, test;
        String format;
        if (data != null) {
            if (!Files.isDirectory(data)) throw new IllegalArgumentException("--data " + data + " is not a folder");
            if (Cifar10.isCifar10(data)) {
                format = "cifar10";
                train = Cifar10.train(data);
                test = Cifar10.test(data);
            } else if (hasIdx(data)) {
                format = "idx";
                train = images(FashionMnist.train(data));
                test = images(FashionMnist.test(data));
            } else {
                throw new IllegalArgumentException("--data " + data + " holds neither CIFAR-10 binaries (data_batch_1.bin ... test_batch.bin,"
                        + " or a cifar-10-batches-bin folder) nor MNIST-format IDX files (train-images-idx3-ubyte[.gz] ...)");
            }
        } else {
            format = "generated";
            train = generated(2000, seed);
            test = generated(500, seed + 1);
        }
        if (limit != null) {
            train = ClassifierRuns.head(train, Math.min(limit, train.size()));
            test = ClassifierRuns.head(test, Math.min(Math.max(1, limit / 6), test.size()));
        }
        // per-channel statistics of the (limited) training images, applied to train and test alike
        float[][] stats = channelStats(train.inputs());
        train = new TensorDataset(Transforms.normalize(train.inputs(), stats[0], stats[1]), train.targets());
        test = new TensorDataset(Transforms.normalize(test.inputs(), stats[0], stats[1]), test.targets());
        boolean augment = format.equals("cifar10") && !noAugment;
        Dataset trainSet = augment ? Datasets.transformed(train, seed, (b, g) ->
                new Batch(Transforms.randomHorizontalFlip(Transforms.randomCrop(b.input(), 4, g), 0.5, g), b.target())) : train;
        int[] shape = train.inputs().shape(); // [N, C, H, W]

        Generator.global().manualSeed(seed);
        Module net = model.equals("small") ? new SmallCnn(shape[1], shape[2], shape[3], 10, new Generator(seed))
                : ResNet.resnet20(shape[1], 10, new Generator(seed));
        var optimizer = new SGD(net.parameters(), lr, MOMENTUM);
        var criterion = new CrossEntropyLoss();
        var loader = DataLoader.builder(trainSet).batchSize(batchSize).shuffle(seed).build();
        var run = new RunDirectory(out);
        Precision precision = Precision.parse(precisionName);
        GradScaler scaler = precision.scaler();

        int startEpoch = 0;
        if (resume != null) {
            var loaded = StateDicts.load(run.file(CHECKPOINT));
            net.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "model."));
            optimizer.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "optim."));
            Precision.loadScaler(scaler, loaded.tensors(), resume);
            startEpoch = Integer.parseInt(loaded.metadata().getOrDefault("epoch", "0"));
            Generator.global().setState(StateDicts.parseState(loaded.metadata().get("rng")));
            run.loadMetrics(startEpoch);
            System.out.printf("resuming %s after epoch %d%n", out, startEpoch);
        }
        run.writeJson("config.json", config(format, shape, stats, augment));
        String title = model.equals("small") ? "SmallCnn" : "ResNet-20";
        System.out.printf("%s on %s %dx%dx%d: %,d parameters; %d train / %d test examples; %d threads; %s%n", title, format,
                shape[1], shape[2], shape[3], net.parameterCount(), train.size(), test.size(), Parallel.threads(), precision.label());

        for (int epoch = startEpoch; epoch < epochs; epoch++) {
            long t0 = System.nanoTime();
            loader.setEpoch(epoch);
            net.train();
            double lossSum = 0;
            int seen = 0;
            try (var bar = Progress.start("epoch " + (epoch + 1) + "/" + epochs, loader.numBatches(), quiet)) {
                for (Batch b : loader) {
                    Tensor loss;
                    try (var ac = precision.autocast()) {
                        loss = criterion.forward(net.forward(b.input()), b.target());
                    }
                    optimizer.zeroGrad();
                    scaler.scale(loss).backward();
                    scaler.step(optimizer);
                    scaler.update();
                    float l = loss.item();
                    if (!Float.isFinite(l) && !scaler.isEnabled()) throw new IllegalStateException("loss became " + l + " in epoch " + (epoch + 1) + "; lower --lr");
                    lossSum += l * b.size();
                    seen += b.size();
                    bar.step(b.size(), lossSum / seen);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double[] eval = ClassifierRuns.evaluate(net, criterion, test, 500);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("epoch", epoch + 1);
            m.put("train_loss", RunDirectory.round(lossSum / seen));
            m.put("test_loss", RunDirectory.round(eval[0]));
            m.put("test_accuracy", RunDirectory.round(eval[1]));
            m.put("images_per_second", Math.round(seen / seconds * 10) / 10.0);
            m.put("seconds", Math.round(seconds * 1000) / 1000.0);
            run.appendMetrics(m);
            System.out.printf("epoch %d/%d  train loss %.4f  test loss %.4f  test accuracy %.4f  %.1f s (%.0f images/s)%n",
                    epoch + 1, epochs, lossSum / seen, eval[0], eval[1], seconds, seen / seconds);
            ClassifierRuns.saveCheckpoint(run, CHECKPOINT, net, optimizer.stateDict(), Precision.scalerState(scaler), epoch + 1);
            Curves.write(run.file("curves.png"), run.metrics(), "epoch", List.of("train_loss", "test_loss"),
                    List.of("test_accuracy"), title);
        }
        StateDicts.save(run.file("model.safetensors"), net.stateDict(), Map.of("format", "pt"));
        System.out.println("wrote " + run.file("model.safetensors") + ", metrics.jsonl, curves.png");
        return 0;
    }

    private static boolean hasIdx(Path dir) {
        return Files.isRegularFile(dir.resolve("train-images-idx3-ubyte")) || Files.isRegularFile(dir.resolve("train-images-idx3-ubyte.gz"));
    }

    /** Flat IDX rows [N, side*side] as images [N, 1, side, side]. */
    private static TensorDataset images(TensorDataset flat) {
        int n = flat.size(), px = flat.inputs().size(1), side = (int) Math.round(Math.sqrt(px));
        if (side * side != px) throw new IllegalArgumentException("IDX images have " + px + " pixels, not a square image");
        return new TensorDataset(flat.inputs().reshape(n, 1, side, side), flat.targets());
    }

    /** Per-channel mean and standard deviation of images [N, C, H, W]. */
    static float[][] channelStats(Tensor x) {
        int n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
        float[] v = x.contiguous().toFloatArray(), mean = new float[c], std = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double s = 0, ss = 0;
            for (int i = 0; i < n; i++)
                for (int j = (i * c + ch) * hw, e = j + hw; j < e; j++) {
                    s += v[j];
                    ss += (double) v[j] * v[j];
                }
            double m = s / ((double) n * hw);
            mean[ch] = (float) m;
            std[ch] = (float) Math.max(1e-6, Math.sqrt(Math.max(0, ss / ((double) n * hw) - m * m)));
        }
        return new float[][] {mean, std};
    }

    /** A resumed run keeps its settings (see TrainMlpCommand): options not given again come from config.json. */
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
            model = ClassifierRuns.resumeSetting(given, "--model", model, (String) c.get("model"));
            batchSize = ClassifierRuns.resumeSetting(given, "--batch-size", batchSize, ((Number) c.get("batch_size")).intValue());
            lr = ClassifierRuns.resumeSetting(given, "--lr", lr, ((Number) c.get("lr")).doubleValue());
            seed = ClassifierRuns.resumeSetting(given, "--seed", seed, ((Number) c.get("seed")).longValue());
            limit = ClassifierRuns.resumeSetting(given, "--limit", limit, c.get("limit") == null ? null : ((Number) c.get("limit")).intValue());
            noAugment = ClassifierRuns.resumeSetting(given, "--no-augment", noAugment, (Boolean) c.get("no_augment"));
            precisionName = ClassifierRuns.resumeSetting(given, "--precision", precisionName, (String) c.getOrDefault("precision", "fp32"));
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("--resume " + dir + ": config.json lacks a setting or has one of the wrong type (" + e.getMessage() + ")");
        }
    }

    private Map<String, Object> config(String format, int[] shape, float[][] stats, boolean augment) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", model.equals("small") ? "small_cnn" : "resnet");
        c.put("model", model);
        c.put("in_channels", shape[1]);
        c.put("image_size", List.of(shape[2], shape[3]));
        c.put("num_classes", 10);
        List<Double> mean = new ArrayList<>(), std = new ArrayList<>();
        for (float v : stats[0]) mean.add((double) v);
        for (float v : stats[1]) std.add((double) v);
        c.put("normalize_mean", mean);
        c.put("normalize_std", std);
        c.put("data_format", format);
        c.put("augment", augment);
        c.put("no_augment", noAugment);
        c.put("epochs", epochs);
        c.put("batch_size", batchSize);
        c.put("lr", lr);
        c.put("momentum", MOMENTUM);
        c.put("seed", seed);
        c.put("limit", limit);
        c.put("precision", precisionName);
        c.put("data", data == null ? "generated" : data.toAbsolutePath().normalize().toString());
        return c;
    }

    /**
     * A generated 10-class task shaped like CIFAR-10: each class is a smooth random colour pattern (a few
     * sinusoids per channel); samples are shifted copies of it with noise, values clamped to [0, 1].
     */
    static TensorDataset generated(int n, long seed) {
        Generator pg = new Generator(12345);
        float[][] fy = new float[10][6], fx = new float[10][6], ph = new float[10][6];
        for (int k = 0; k < 10; k++)
            for (int j = 0; j < 6; j++) {
                fy[k][j] = (float) (pg.nextDouble() * 0.5);
                fx[k][j] = (float) (pg.nextDouble() * 0.5);
                ph[k][j] = (float) (pg.nextDouble() * 6.283);
            }
        Generator g = new Generator(seed);
        float[] x = new float[n * 3072];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            int k = g.nextInt(10), sy = g.nextInt(5) - 2, sx = g.nextInt(5) - 2;
            y[i] = k;
            for (int ch = 0; ch < 3; ch++)
                for (int r = 0; r < 32; r++)
                    for (int c = 0; c < 32; c++) {
                        double v = 0.5 + 0.25 * Math.sin(fy[k][2 * ch] * (r + sy) + fx[k][2 * ch] * (c + sx) + ph[k][2 * ch])
                                + 0.25 * Math.sin(fy[k][2 * ch + 1] * (r + sy) - fx[k][2 * ch + 1] * (c + sx) + ph[k][2 * ch + 1]);
                        x[i * 3072 + ch * 1024 + r * 32 + c] = (float) Math.clamp(v + 0.3 * g.nextGaussian(), 0, 1);
                    }
        }
        return new TensorDataset(Tensor.wrap(x, n, 3, 32, 32), Tensor.wrapLongs(y, n));
    }
}
