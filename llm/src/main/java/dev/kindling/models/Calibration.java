package dev.kindling.models;

import dev.kindling.autograd.Grad;
import dev.kindling.kernels.Gemm;
import dev.kindling.nn.Module;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.EncodeOptions;
import dev.kindling.tokenizers.HuggingFaceTokenizer;
import dev.kindling.tokenizers.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a model folder's FP32 model over calibration text and collects, for every weight matrix that multiplies
 * activations, H = mean of x^T x over the rows x of its inputs: what {@link dev.kindling.kernels.Gptq} needs.
 * Each non-empty line of the text is one sample, tokenized by the folder's tokenizer.json (with the special tokens
 * an encoder adds) and cut into windows of the model's context length. A built-in English text (calibration.txt beside this class) serves when the user
 * gives none; it is unrelated to any evaluation text, so quality figures measured elsewhere stay honest.
 */
final class Calibration {
    /** The resource holding the built-in calibration text. */
    static final String BUILT_IN = "calibration.txt";

    private Calibration() {}

    /** The lines of the built-in calibration text. */
    static List<String> builtIn() throws IOException {
        try (InputStream in = Calibration.class.getResourceAsStream(BUILT_IN)) {
            if (in == null) throw new IllegalStateException("calibration: resource " + BUILT_IN + " is missing from the jar");
            return samples(new String(in.readAllBytes(), StandardCharsets.UTF_8), BUILT_IN);
        }
    }

    /** The non-empty lines of a UTF-8 file. */
    static List<String> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("calibration: " + file + " is not a file");
        return samples(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    private static List<String> samples(String text, String source) {
        List<String> lines = text.lines().filter(s -> !s.isBlank()).toList();
        if (lines.isEmpty()) throw new IllegalArgumentException("calibration: " + source + " has no non-empty line");
        return lines;
    }

    /** Why calibration cannot run on a folder (no tokenizer.json, or no line it can encode). */
    static final class Unusable extends Exception {
        Unusable(String message) {
            super(message);
        }
    }

    /**
     * What the calibration run saw.
     *
     * @param hessians H = mean of x^T x [cols, cols] (row-major) over the input rows x of each matrix the model
     *     multiplies its activations by, keyed by {@link #key}; embedding tables that are only looked up have none
     * @param tokens tokens run through the model
     */
    record Stats(Map<String, double[]> hessians, long tokens) {}

    /**
     * Runs the folder's FP32 model over {@code texts}, one sample per line.
     *
     * @param strict whether a line the tokenizer cannot encode is an error (a user's file) or skipped (the built-in
     *     text, which a character-level tokenizer of another alphabet may not cover)
     * @throws Unusable if the folder has no tokenizer.json, or no line could be encoded
     * @throws IllegalArgumentException if strict and a line cannot be encoded (naming it)
     */
    static Stats collect(Path model, List<String> texts, boolean strict) throws IOException, Unusable {
        Path tokFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) throw new Unusable("calibration: " + model + " has no tokenizer.json to tokenize the text");
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.load(tokFile);
        } catch (IllegalArgumentException | IOException e) {
            throw new Unusable("calibration: " + tokFile + " cannot be loaded (" + e.getMessage() + ")");
        }
        // an encoder sees [CLS] ... [SEP] around every text it embeds: calibrate on the same
        boolean encoder = "bert".equals(AutoModel.modelType(AutoModel.readConfig(model), model));
        List<int[]> samples = new java.util.ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            try {
                int[] ids = encoder && tokenizer instanceof HuggingFaceTokenizer hf ? hf.encode(texts.get(i), EncodeOptions.DEFAULT).ids()
                        : tokenizer.encode(texts.get(i));
                if (ids.length > 0) samples.add(ids);
            } catch (IllegalArgumentException e) {
                if (strict) throw new IllegalArgumentException("calibration: line " + (i + 1) + " cannot be tokenized: " + e.getMessage(), e);
            }
        }
        if (samples.isEmpty()) throw new Unusable("calibration: the tokenizer of " + model + " encodes none of the " + texts.size() + " lines");
        try (AutoModel auto = AutoModel.load(model, DType.FLOAT32, false); var noGrad = Grad.disabled()) {
            Module m = auto.module();
            Map<String, Accumulator> acc = new LinkedHashMap<>();
            for (var e : m.namedModules().entrySet()) {
                WeightMatrix w = switch (e.getValue()) {
                    case BertModel.Dense d -> d.w;
                    case Conv1D c -> c.frozenWeight();
                    case WeightTable t -> t.w;
                    default -> null;
                };
                if (w == null) continue;
                Accumulator a = new Accumulator(w.cols);
                w.inputObserver = a::add;
                acc.put(key(e.getKey() + ".weight"), a);
            }
            int context;
            long tokens = 0;
            if (m instanceof BertModel bert) {
                context = bert.maxPositions();
                bert.train(true); // the layer-by-layer path calls WeightMatrix.linear (BERT has no dropout to switch on)
            } else context = ((Gpt) m).config.blockSize();
            for (int[] ids : samples)
                for (int from = 0; from < ids.length; from += context) {
                    int[] window = Arrays.copyOfRange(ids, from, Math.min(ids.length, from + context));
                    Tensor x = Tensor.wrapLongs(Arrays.stream(window).asLongStream().toArray(), 1, window.length);
                    if (m instanceof BertModel bert) bert.forward(x);
                    else ((Gpt) m).forward(x);
                    tokens += window.length;
                }
            Map<String, double[]> out = new HashMap<>();
            for (var e : acc.entrySet()) if (e.getValue().rows > 0) out.put(e.getKey(), e.getValue().mean());
            return new Stats(out, tokens);
        }
    }

    /** A tensor name without the task prefix that checkpoints of task models add: the key of {@link #hessians}. */
    static String key(String tensorName) {
        for (String p : new String[] {"transformer.", "bert."}) if (tensorName.startsWith(p)) return tensorName.substring(p.length());
        return tensorName;
    }

    /** Sum of x^T x over the rows seen, in double; each call's rows go through one float GEMM first. */
    private static final class Accumulator {
        final int cols;
        final double[] sum;
        final float[] part;
        long rows;

        Accumulator(int cols) {
            this.cols = cols;
            this.sum = new double[cols * cols];
            this.part = new float[cols * cols];
        }

        void add(Tensor x) {
            float[] a = x.contiguous().toFloatArray();
            int m = a.length / cols;
            Gemm.sgemm(true, false, cols, cols, m, 1f, a, 0, cols, a, 0, cols, 0f, part, 0, cols);
            for (int i = 0; i < sum.length; i++) sum[i] += part[i];
            rows += m;
        }

        double[] mean() {
            double[] h = sum.clone();
            for (int i = 0; i < h.length; i++) h[i] /= rows;
            return h;
        }
    }
}
