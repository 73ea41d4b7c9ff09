package dev.kindling.cli;

import dev.kindling.autograd.Grad;
import dev.kindling.data.Batch;
import dev.kindling.data.DataLoader;
import dev.kindling.data.TensorDataset;
import dev.kindling.io.StateDicts;
import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the epoch-based classifier recipes (train mlp, train cnn) share: evaluation, subsets, checkpoints. */
final class ClassifierRuns {
    private ClassifierRuns() {}

    /** Mean loss and accuracy in eval mode (batch norm uses its running statistics), without recording a graph. */
    static double[] evaluate(Module model, CrossEntropyLoss criterion, TensorDataset ds, int batchSize) {
        model.eval();
        double loss = 0;
        long correct = 0;
        try (var noGrad = Grad.disabled()) {
            for (Batch b : DataLoader.builder(ds).batchSize(batchSize).prefetch(0).build()) {
                Tensor logits = model.forward(b.input());
                loss += criterion.forward(logits, b.target()).item() * b.size();
                long[] pred = logits.argmax(1, false).toLongArray(), y = b.target().toLongArray();
                for (int i = 0; i < pred.length; i++) if (pred[i] == y[i]) correct++;
            }
        }
        model.train();
        return new double[] {loss / ds.size(), (double) correct / ds.size()};
    }

    /** The first {@code n} samples (for --limit). */
    static TensorDataset head(TensorDataset ds, int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        return ds.subset(idx);
    }

    /**
     * Model ("model.") and optimizer ("optim.") state, extra entries already keyed (the loss scaler's), the epoch
     * and the global generator, in one atomic file.
     */
    static void saveCheckpoint(RunDirectory run, String file, Module model, Map<String, Tensor> optimState,
                               Map<String, Tensor> extra, int epoch) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> all.put("model." + k, v));
        optimState.forEach((k, v) -> all.put("optim." + k, v));
        all.putAll(extra);
        StateDicts.save(run.file(file), all, Map.of("epoch", Integer.toString(epoch),
                "rng", StateDicts.formatState(Generator.global().state())));
    }

    /**
     * A setting of a resumed run: the run's saved value when the option is not given again; the given value when
     * it agrees; otherwise an error, since a changed setting would not continue the run exactly.
     */
    static <T> T resumeSetting(picocli.CommandLine.ParseResult given, String option, T value, T saved) {
        if (!given.hasMatchedOption(option)) return saved;
        if (!java.util.Objects.equals(value, saved))
            throw new IllegalArgumentException("--resume: " + option + " " + value + " differs from the run's " + (saved == null ? "none" : saved)
                    + " (config.json); a resumed run keeps its settings");
        return value;
    }
}
