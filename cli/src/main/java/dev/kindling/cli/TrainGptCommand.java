package dev.kindling.cli;

import dev.kindling.autograd.Grad;
import dev.kindling.data.Batch;
import dev.kindling.data.TokenFile;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.GradScaler;
import dev.kindling.optim.LRSchedule;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tasks.AdditionTask;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

import dev.kindling.tokenizers.ByteLevelBpeTokenizer;
import dev.kindling.tokenizers.CharTokenizer;
import dev.kindling.tokenizers.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kindling train gpt}: nanoGPT's train.py in Java. With --data FILE it trains a GPT on a text corpus
 * (char or byte-level BPE tokens, 90/10 split, random windows); without it, it learns multi-digit addition
 * from generated examples and reports exact-match accuracy on held-out sums.
 */
@Command(name = "gpt", mixinStandardHelpOptions = true,
        description = "Train a GPT on a text file, or on generated addition problems without --data.")
final class TrainGptCommand implements Callable<Integer> {
    @Option(names = "--data", description = "A UTF-8 text file. Without it: the built-in addition task.") Path data;
    @Option(names = "--tokenizer", defaultValue = "char", description = "char or bpe (default ${DEFAULT-VALUE}).") String tokenizerKind;
    @Option(names = "--vocab-size", defaultValue = "512", description = "BPE vocabulary size.") int vocabSize;
    @Option(names = "--digits", defaultValue = "2", description = "Addition task: digits per operand.") int digits;
    @Option(names = "--n-layer", description = "Default 4 (addition: 2).") Integer nLayer;
    @Option(names = "--n-head", defaultValue = "4") int nHead;
    @Option(names = "--n-embd", defaultValue = "128") int nEmbd;
    @Option(names = "--block-size", description = "Default 64 (addition: the example length).") Integer blockSize;
    @Option(names = "--batch-size", description = "Default 12 (addition: 64).") Integer batchSize;
    @Option(names = "--grad-accum", defaultValue = "1") int gradAccum;
    @Option(names = "--lr", defaultValue = "1e-3") double lr;
    @Option(names = "--min-lr", defaultValue = "1e-4") double minLr;
    @Option(names = "--warmup", defaultValue = "100") int warmup;
    @Option(names = "--max-iters", description = "Default 2000 (addition: 1500).") Integer maxIters;
    @Option(names = "--eval-interval", defaultValue = "250") int evalInterval;
    @Option(names = "--eval-iters", description = "Default 50 (addition: 10).") Integer evalIters;
    @Option(names = "--weight-decay", defaultValue = "0.1") double weightDecay;
    @Option(names = "--grad-clip", defaultValue = "1.0") double gradClip;
    @Option(names = "--dropout", defaultValue = "0.0") double dropout;
    @Option(names = "--seed", defaultValue = "1337") long seed;
    @Option(names = "--out", defaultValue = "runs/gpt") Path out;
    @Option(names = "--resume", description = "Continue the run in this output folder from its checkpoint.") Path resume;
    @Option(names = "--stop-at", description = "Stop at this iteration with a checkpoint, as if interrupted (--resume continues).") Integer stopAt;
    @Option(names = "--threads", description = "Kernel threads (default: all cores).") Integer threads;
    @Option(names = "--quiet", description = "No progress bar.") boolean quiet;
    @Option(names = "--precision", defaultValue = "fp32",
            description = "fp32, bf16 or fp16: autocast the forward pass to 16 bits (fp16 with loss scaling); default ${DEFAULT-VALUE}.")
    String precisionName;
    @Option(names = "--checkpoint-activations", description = "Recompute each block's activations in backward (less memory).")
    boolean checkpointActivations;

    static final String CHECKPOINT = "checkpoint.safetensors";

    /** Where batches come from: a token file split 90/10, or the addition task. */
    private interface Source {
        Batch train(Generator g, int batch);

        Batch val(Generator g, int batch);
    }

    /** Fills the options left unset with the defaults of the chosen task (nanoGPT's baby GPT for text). */
    private void applyTaskDefaults() {
        boolean add = data == null;
        if (nLayer == null) nLayer = add ? 2 : 4;
        if (batchSize == null) batchSize = add ? 64 : 12;
        if (maxIters == null) maxIters = add ? 1500 : 2000;
        if (evalIters == null) evalIters = add ? 10 : 50;
        if (blockSize == null) blockSize = add ? new AdditionTask(digits, seed).sequenceLength() - 1 : 64;
    }

    @Override
    public Integer call() throws Exception {
        applyTaskDefaults();
        validate();
        Precision precision = Precision.parse(precisionName);
        if (threads != null) Parallel.setThreads(threads);
        if (resume != null) out = resume;
        var run = new RunDirectory(out);

        AdditionTask addition = null;
        Tokenizer tokenizer;
        Source source;
        TokenFile tokens = null;
        if (data == null) {
            addition = new AdditionTask(digits, seed);
            tokenizer = CharTokenizer.fromText(AdditionTask.VOCABULARY);
            if (blockSize < addition.sequenceLength() - 1) blockSize = addition.sequenceLength() - 1;
            AdditionTask task = addition;
            source = new Source() {
                public Batch train(Generator g, int b) { return task.batch(g, b, true); }
                public Batch val(Generator g, int b) { return task.batch(g, b, false); }
            };
        } else {
            if (!Files.isRegularFile(data)) throw new IllegalArgumentException("--data " + data + " is not a file");
            Path tokFile = run.file("tokens.bin");
            if (resume != null && Files.exists(run.file("tokenizer.json")) && Files.exists(tokFile)) {
                tokenizer = Tokenizer.load(run.file("tokenizer.json"));
            } else {
                String text = Files.readString(data, StandardCharsets.UTF_8);
                if (text.isEmpty()) throw new IllegalArgumentException("--data " + data + " is empty");
                long t0 = System.nanoTime();
                tokenizer = switch (tokenizerKind) {
                    case "char" -> CharTokenizer.fromText(text);
                    case "bpe" -> ByteLevelBpeTokenizer.train(text, vocabSize, Set.of(ByteLevelBpeTokenizer.END_OF_TEXT));
                    default -> throw new IllegalArgumentException("--tokenizer must be char or bpe, got '" + tokenizerKind + "'");
                };
                int[] ids = tokenizer.encode(text);
                TokenFile.write(tokFile, ids, tokenizer.vocabSize());
                System.out.printf("tokenised %,d characters into %,d tokens (vocabulary %d) in %.1f s%n",
                        text.length(), ids.length, tokenizer.vocabSize(), (System.nanoTime() - t0) / 1e9);
            }
            tokens = TokenFile.open(tokFile);
            long n = tokens.size(), split = (long) (n * 0.9);
            if (split <= blockSize + 1 || n - split <= blockSize + 1)
                throw new IllegalArgumentException("--data " + data + ": " + n + " tokens are too few for block size " + blockSize);
            TokenFile tf = tokens;
            source = new Source() {
                public Batch train(Generator g, int b) { return tf.batch(g, b, blockSize, 0, split); }
                public Batch val(Generator g, int b) { return tf.batch(g, b, blockSize, split, n); }
            };
        }
        tokenizer.save(run.file("tokenizer.json"));

        var config = new GptConfig(tokenizer.vocabSize(), blockSize, nLayer, nHead, nEmbd, dropout, true);
        Generator.global().manualSeed(seed);
        var model = new Gpt(config, new Generator(seed)).checkpointActivations(checkpointActivations);
        var optimizer = new AdamW(paramGroups(model), 0.9, 0.99, 1e-8);
        GradScaler scaler = precision.scaler();
        var schedule = LRSchedule.warmupCosine(warmup, maxIters, minLr / lr);
        var batches = new Generator(seed + 1);
        int startIter = 0;
        double bestVal = Double.POSITIVE_INFINITY;
        if (resume != null) {
            Path ck = run.file(CHECKPOINT);
            if (!Files.exists(ck)) throw new IllegalArgumentException("--resume " + resume + ": no " + CHECKPOINT + " in that folder");
            var loaded = StateDicts.load(ck);
            model.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "model."));
            optimizer.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "optim."));
            Precision.loadScaler(scaler, loaded.tensors(), resume);
            startIter = Integer.parseInt(loaded.metadata().get("iter"));
            bestVal = Double.parseDouble(loaded.metadata().get("best_val_loss"));
            batches.setState(StateDicts.parseState(loaded.metadata().get("batch_rng")));
            Generator.global().setState(StateDicts.parseState(loaded.metadata().get("rng")));
            run.loadMetrics(Integer.parseInt(loaded.metadata().get("metrics")));
            System.out.printf("resuming %s at iteration %d%n", out, startIter);
        }
        Map<String, Object> hf = new LinkedHashMap<>(config.toHuggingFace());
        hf.put("kindling_task", addition == null ? "text" : "addition");
        if (addition != null) hf.put("kindling_addition_digits", digits);
        run.writeJson("config.json", hf);
        System.out.printf("GPT %d layers, %d heads, %d wide, block %d, vocabulary %d: %.2fM parameters; %d threads; %s%s%n",
                nLayer, nHead, nEmbd, blockSize, tokenizer.vocabSize(), model.parameterCount(true) / 1e6, Parallel.threads(),
                precision.label(), checkpointActivations ? ", activation checkpointing" : "");

        long tokensPerIter = (long) batchSize * gradAccum * (addition == null ? blockSize : addition.sequenceLength() - 1);
        long windowStart = System.nanoTime();
        int windowIters = 0;
        try (var bar = Progress.start("train", maxIters - startIter, quiet)) {
            for (int iter = startIter; iter <= maxIters; iter++) {
                schedule.apply(optimizer, iter);
                boolean evalNow = iter % evalInterval == 0 || iter == maxIters;
                if (evalNow && !(resume != null && iter == startIter)) {
                    double secs = (System.nanoTime() - windowStart) / 1e9;
                    double tps = windowIters == 0 ? 0 : tokensPerIter * windowIters / secs;
                    double[] losses = estimateLoss(model, source, iter, precision);
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("iter", iter);
                    m.put("train_loss", round(losses[0]));
                    m.put("val_loss", round(losses[1]));
                    m.put("lr", optimizer.paramGroups().get(0).lr);
                    m.put("tokens_per_s", Math.round(tps));
                    run.appendMetrics(m);
                    bar.println(String.format("iter %d: train loss %.4f, val loss %.4f, lr %.2e, %,.0f tokens/s",
                            iter, losses[0], losses[1], optimizer.paramGroups().get(0).lr, tps));
                    Curves.write(run.file("curves.png"), run.metrics(), "iter", List.of("train_loss", "val_loss"), List.of(), "GPT");
                    if (losses[1] < bestVal || iter == maxIters) {
                        bestVal = Math.min(bestVal, losses[1]);
                        saveCheckpoint(run, model, optimizer, scaler, iter, bestVal, batches, true);
                    }
                    windowStart = System.nanoTime();
                    windowIters = 0;
                }
                if (iter == maxIters) break;
                if (stopAt != null && iter == stopAt) {
                    saveCheckpoint(run, model, optimizer, scaler, iter, bestVal, batches, false);
                    bar.println("stopped at iteration " + iter + "; continue with --resume " + out);
                    return 0;
                }
                double lossSum = 0;
                for (int micro = 0; micro < gradAccum; micro++) {
                    Batch b = source.train(batches, batchSize);
                    Tensor loss;
                    try (var ac = precision.autocast()) {
                        loss = lmLoss(model.forward(b.input()), b.target()).div(gradAccum);
                    }
                    scaler.scale(loss).backward();
                    lossSum += loss.item();
                }
                // with fp16 a non-finite loss means the scale was too large: the scaler skips the step and backs off
                if (!Double.isFinite(lossSum) && !scaler.isEnabled())
                    throw new IllegalStateException("loss became " + lossSum + " at iteration " + iter + "; lower --lr");
                scaler.unscale(optimizer); // clipping needs the true gradient norm
                if (gradClip > 0) GradClip.clipGradNorm(model.parameters(), gradClip);
                scaler.step(optimizer);
                scaler.update();
                optimizer.zeroGrad();
                windowIters++;
                bar.step(1, lossSum);
            }
        } finally {
            if (tokens != null) tokens.close();
        }
        StateDicts.save(run.file("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        System.out.println("wrote " + out.resolve("model.safetensors") + ", config.json, tokenizer.json, metrics.jsonl, curves.png");
        if (addition != null) {
            double acc = AdditionEval.exactMatch(model, addition);
            System.out.printf("held-out %d-digit sums: exact match %.4f%n", digits, acc);
            run.writeJson("addition_eval.json", Map.of("digits", digits, "held_out", addition.testPairs().length, "exact_match", acc));
        }
        return 0;
    }

    /** Cross-entropy over all positions of logits [B, T, V] against targets [B, T] (-100 = ignored). */
    static Tensor lmLoss(Tensor logits, Tensor targets) {
        int v = logits.size(-1);
        return Functional.crossEntropy(logits.reshape(-1, v), targets.reshape(-1), AdditionTask.IGNORE, 0, Functional.Reduction.MEAN);
    }

    /** Mean loss over evalIters batches of each split, drawn from a generator seeded by the iteration (so resume is exact). */
    private double[] estimateLoss(Gpt model, Source source, int iter, Precision precision) {
        model.eval();
        double[] out = new double[2];
        try (var noGrad = Grad.disabled(); var ac = precision.autocast()) {
            for (int split = 0; split < 2; split++) {
                Generator g = new Generator(seed * 31 + iter * 2L + split);
                double sum = 0;
                for (int i = 0; i < evalIters; i++) {
                    Batch b = split == 0 ? source.train(g, batchSize) : source.val(g, batchSize);
                    sum += lmLoss(model.forward(b.input()), b.target()).item();
                }
                out[split] = sum / evalIters;
            }
        }
        model.train();
        return out;
    }

    /** AdamW groups as nanoGPT's configure_optimizers: decay for matrices (dim >= 2), none for biases and norms. */
    private List<ParamGroup> paramGroups(Gpt model) {
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
        return List.of(new ParamGroup(decay, lr, weightDecay), new ParamGroup(noDecay, lr, 0));
    }

    /** The resume point; with {@code withModel} also model.safetensors (the best weights so far). */
    private void saveCheckpoint(RunDirectory run, Gpt model, AdamW opt, GradScaler scaler, int iter, double bestVal, Generator batches,
                                boolean withModel) throws java.io.IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> all.put("model." + k, v));
        opt.stateDict().forEach((k, v) -> all.put("optim." + k, v));
        all.putAll(Precision.scalerState(scaler));
        StateDicts.save(run.file(CHECKPOINT), all, Map.of(
                "iter", Integer.toString(iter),
                "best_val_loss", Double.toString(bestVal),
                "metrics", Integer.toString(run.metrics().size()),
                "batch_rng", StateDicts.formatState(batches.state()),
                "rng", StateDicts.formatState(Generator.global().state())));
        if (withModel) StateDicts.save(run.file("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }

    private void validate() {
        positive("--n-layer", nLayer);
        positive("--n-head", nHead);
        positive("--n-embd", nEmbd);
        positive("--block-size", blockSize);
        positive("--batch-size", batchSize);
        positive("--grad-accum", gradAccum);
        positive("--max-iters", maxIters);
        positive("--eval-interval", evalInterval);
        positive("--eval-iters", evalIters);
        if (nEmbd % nHead != 0) throw new IllegalArgumentException("--n-embd " + nEmbd + " is not divisible by --n-head " + nHead);
        if (!(lr > 0) || !(minLr >= 0) || minLr > lr) throw new IllegalArgumentException("need 0 <= --min-lr <= --lr and --lr > 0");
        if (warmup < 0 || warmup > maxIters) throw new IllegalArgumentException("--warmup must be in [0, --max-iters], got " + warmup);
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
        if (stopAt != null && (stopAt < 0 || stopAt > maxIters)) throw new IllegalArgumentException("--stop-at must be in [0, --max-iters], got " + stopAt);
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + " must be positive, got " + v);
    }
}
