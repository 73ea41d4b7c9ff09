package dev.kindling.cli;

import dev.kindling.autograd.Grad;
import dev.kindling.data.Batch;
import dev.kindling.data.TokenFile;
import dev.kindling.data.TokenShards;
import dev.kindling.distributed.DistributedDataParallel;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.nn.Functional;
import dev.kindling.optim.LRSchedule;
import dev.kindling.tasks.AdditionTask;
import dev.kindling.tensor.Generator;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.ByteLevelBpeTokenizer;
import dev.kindling.tokenizers.CharTokenizer;
import dev.kindling.tokenizers.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code kindling train gpt}: nanoGPT's train.py in Java. With --data FILE it trains a GPT on a text corpus
 * (char or byte-level BPE tokens, 90/10 split, random windows); without it, it learns multi-digit addition
 * from generated examples and reports exact-match accuracy on held-out sums.
 *
 * <p>Under {@code kindling launch}, {@code --parallel} trains on several ranks. Every rank draws the same
 * batches. ddp: each rank takes its share of the rows and {@link DistributedDataParallel} averages the
 * gradients (overlapped with backward; all micro-batches but the last inside noSync). zero1/zero2: the
 * same, with a {@link ShardedOptimizer} holding 1/n of AdamW's state per rank. tp: every rank takes the whole
 * batch and holds 1/n of each block ({@link TensorParallelGpt}). Evaluation batches are spread over the
 * ranks (tp: every rank runs all). Rank 0 writes the run folder. Checkpoints are in the single-process
 * layout (sharded state gathered), so any run resumes with any number of ranks and any mode.
 */
@Command(name = "gpt", mixinStandardHelpOptions = true,
        description = "Train a GPT on a text file, or on generated addition problems without --data.")
final class TrainGptCommand implements Callable<Integer> {
    @Option(names = "--data", description = "A UTF-8 text file, or a folder of token shards with manifest.json. Without it: the built-in addition task.") Path data;
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
    @Mixin ParallelOptions par = new ParallelOptions();
    @Option(names = "--precision", defaultValue = "fp32",
            description = "fp32, bf16 or fp16: autocast the forward pass to 16 bits (fp16 with loss scaling); default ${DEFAULT-VALUE}.")
    String precisionName;
    @Option(names = "--checkpoint-activations", description = "Recompute each block's activations in backward (less memory).")
    boolean checkpointActivations;

    static final String CHECKPOINT = "checkpoint.safetensors";
    private Precision precision;

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
        par.validate();
        if (par.tensorParallel() && dropout != 0) throw new IllegalArgumentException("--parallel tp does not support dropout, got --dropout " + dropout);
        precision = Precision.parse(precisionName);
        if (precision != Precision.FP32 && par.tensorParallel()) // the split layers' collectives carry float32 only
            throw new IllegalArgumentException("--parallel tp trains in fp32 only, got --precision " + precisionName);
        if (precision == Precision.FP16 && par.zero())
            throw new IllegalArgumentException("--precision fp16 needs loss scaling, which --parallel " + par.parallel + " does not do; use bf16");
        if (threads != null) Parallel.setThreads(threads);
        if (par.enabled()) {
            try (ProcessGroup pg = par.join()) {
                return train(pg);
            }
        }
        return train(null);
    }

    private int train(ProcessGroup pg) throws Exception {
        boolean lead = pg == null || pg.rank() == 0;
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
            boolean shards = Files.isDirectory(data);
            if (shards && !TokenShards.isShardFolder(data))
                throw new IllegalArgumentException("--data " + data + " is a folder without " + TokenShards.MANIFEST + " (token shards, as KindlingSpark.tokenize writes them)");
            if (!shards && !Files.isRegularFile(data)) throw new IllegalArgumentException("--data " + data + " is not a file");
            Path tokFile = run.file("tokens.bin");
            if (!lead) {
                pg.barrier(); // rank 0 tokenises and writes tokens.bin and tokenizer.json
                tokenizer = Tokenizer.load(run.file("tokenizer.json"));
            } else if (resume != null && Files.exists(run.file("tokenizer.json")) && Files.exists(tokFile)) {
                tokenizer = Tokenizer.load(run.file("tokenizer.json"));
            } else if (shards) {
                // already tokenised (in parallel, e.g. on Spark): take its tokenizer and its ids in shard order
                tokenizer = Tokenizer.load(data.resolve(TokenShards.TOKENIZER));
                int[] ids = TokenShards.readAll(data);
                TokenFile.write(tokFile, ids, tokenizer.vocabSize());
                System.out.printf("read %,d tokens from the shards in %s (vocabulary %d)%n", ids.length, data, tokenizer.vocabSize());
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
            if (lead && pg != null) {
                tokenizer.save(run.file("tokenizer.json"));
                pg.barrier();
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
        if (lead) tokenizer.save(run.file("tokenizer.json"));

        var config = new GptConfig(tokenizer.vocabSize(), blockSize, nLayer, nHead, nEmbd, dropout, true);
        Generator.global().manualSeed(seed);
        var model = new Gpt(config, new Generator(seed)).checkpointActivations(checkpointActivations);
        var schedule = LRSchedule.warmupCosine(warmup, maxIters, minLr / lr);
        var batches = new Generator(seed + 1);
        int startIter = 0;
        double bestVal = Double.POSITIVE_INFINITY;
        StateDicts.Loaded loaded = null;
        if (resume != null) {
            Path ck = run.file(CHECKPOINT);
            if (!Files.exists(ck)) throw new IllegalArgumentException("--resume " + resume + ": no " + CHECKPOINT + " in that folder");
            loaded = StateDicts.load(ck);
            model.loadStateDict(StateDicts.withPrefix(loaded.tensors(), "model."));
        }
        var trainer = new GptParallelism(model, par, pg, lr, weightDecay, gradClip, precision);
        if (loaded != null) {
            trainer.loadOptimizerState(StateDicts.withPrefix(loaded.tensors(), "optim."));
            Precision.loadScaler(trainer.scaler(), loaded.tensors(), resume);
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
        if (lead) run.writeJson("config.json", hf);
        System.out.printf("GPT %d layers, %d heads, %d wide, block %d, vocabulary %d: %.2fM parameters; %d threads; %s%s%s%n",
                nLayer, nHead, nEmbd, blockSize, tokenizer.vocabSize(), model.parameterCount(true) / 1e6, Parallel.threads(),
                precision.label(), checkpointActivations ? ", activation checkpointing" : "",
                pg == null ? "" : "; rank " + pg.rank() + " of " + pg.worldSize() + " (" + par.parallel + ")");
        Module net = trainer.module();

        long tokensPerIter = (long) batchSize * gradAccum * (addition == null ? blockSize : addition.sequenceLength() - 1);
        long windowStart = System.nanoTime();
        int windowIters = 0;
        try (var bar = Progress.start("train", maxIters - startIter, quiet || !lead)) {
            for (int iter = startIter; iter <= maxIters; iter++) {
                trainer.setLr(schedule, iter);
                double lrNow = lr * schedule.factor(iter);
                boolean evalNow = iter % evalInterval == 0 || iter == maxIters;
                if (evalNow && !(resume != null && iter == startIter)) {
                    double secs = (System.nanoTime() - windowStart) / 1e9;
                    double tps = windowIters == 0 ? 0 : tokensPerIter * windowIters / secs;
                    double[] losses = estimateLoss(net, source, iter, trainer.splitsEvaluation() ? pg : null);
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("iter", iter);
                    m.put("train_loss", RunDirectory.round(losses[0]));
                    m.put("val_loss", RunDirectory.round(losses[1]));
                    m.put("lr", lrNow);
                    m.put("tokens_per_s", Math.round(tps));
                    if (lead) {
                        run.appendMetrics(m);
                        bar.println(String.format("iter %d: train loss %.4f, val loss %.4f, lr %.2e, %,.0f tokens/s",
                                iter, losses[0], losses[1], lrNow, tps));
                        Curves.write(run.file("curves.png"), run.metrics(), "iter", List.of("train_loss", "val_loss"), List.of(), "GPT");
                    }
                    if (losses[1] < bestVal || iter == maxIters) {
                        bestVal = Math.min(bestVal, losses[1]);
                        saveCheckpoint(run, trainer, iter, bestVal, batches, true, lead);
                    }
                    windowStart = System.nanoTime();
                    windowIters = 0;
                }
                if (iter == maxIters) break;
                if (stopAt != null && iter == stopAt) {
                    saveCheckpoint(run, trainer, iter, bestVal, batches, false, lead);
                    bar.println("stopped at iteration " + iter + "; continue with --resume " + out);
                    if (pg != null) pg.barrier(); // nobody closes the ring while rank 0 still writes
                    return 0;
                }
                double lossSum = 0;
                for (int micro = 0; micro < gradAccum; micro++) {
                    Batch b = source.train(batches, batchSize);
                    lossSum += trainer.backward(b, gradAccum, micro == gradAccum - 1);
                }
                lossSum = trainer.step(lossSum);
                // with fp16 a non-finite loss means the scale was too large: the scaler skips the step and backs off
                if (!Double.isFinite(lossSum) && !trainer.scaler().isEnabled())
                    throw new IllegalStateException("loss became " + lossSum + " at iteration " + iter + "; lower --lr");
                windowIters++;
                bar.step(1, lossSum);
            }
        } finally {
            if (tokens != null) tokens.close();
        }
        Map<String, Tensor> finalState = trainer.modelState(); // a collective: the last weights, gathered
        if (pg != null) pg.barrier();
        if (!lead) return 0;
        model.loadStateDict(finalState);
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

    /**
     * Mean loss over evalIters batches of each split, drawn from a generator seeded by the iteration (so resume
     * is exact). With {@code spread}, rank r evaluates batches r, r + n, ... and the sums are all-reduced.
     */
    private double[] estimateLoss(Module model, Source source, int iter, ProcessGroup spread) {
        model.eval();
        float[] sums = new float[2];
        try (var noGrad = Grad.disabled(); var ac = precision.autocast()) {
            for (int split = 0; split < 2; split++) {
                Generator g = new Generator(seed * 31 + iter * 2L + split);
                double sum = 0;
                for (int i = 0; i < evalIters; i++) {
                    Batch b = split == 0 ? source.train(g, batchSize) : source.val(g, batchSize);
                    if (spread == null || i % spread.worldSize() == spread.rank()) sum += lmLoss(model.forward(b.input()), b.target()).item();
                }
                sums[split] = (float) sum;
            }
        }
        if (spread != null) spread.allReduce(sums, ReduceOp.SUM);
        model.train();
        return new double[] {sums[0] / evalIters, sums[1] / evalIters};
    }

    /**
     * The resume point; with {@code withModel} also model.safetensors (the best weights so far). Gathering
     * sharded state is a collective: every rank calls this, rank 0 ({@code lead}) writes.
     */
    private void saveCheckpoint(RunDirectory run, GptParallelism trainer, int iter, double bestVal, Generator batches, boolean withModel,
                                boolean lead) throws java.io.IOException {
        Map<String, Tensor> modelState = trainer.modelState(), optimState = trainer.optimizerState();
        if (!lead) return;
        Map<String, Tensor> all = new LinkedHashMap<>();
        modelState.forEach((k, v) -> all.put("model." + k, v));
        optimState.forEach((k, v) -> all.put("optim." + k, v));
        all.putAll(Precision.scalerState(trainer.scaler()));
        StateDicts.save(run.file(CHECKPOINT), all, Map.of(
                "iter", Integer.toString(iter),
                "best_val_loss", Double.toString(bestVal),
                "metrics", Integer.toString(run.metrics().size()),
                "batch_rng", StateDicts.formatState(batches.state()),
                "rng", StateDicts.formatState(Generator.global().state())));
        if (withModel) StateDicts.save(run.file("model.safetensors"), modelState, Map.of("format", "pt"));
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
