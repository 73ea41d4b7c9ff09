package dev.kindling.bench;

import dev.kindling.autograd.Grad;
import dev.kindling.data.Batch;
import dev.kindling.data.TokenFile;
import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.models.AutoModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.ModelQuantizer;
import dev.kindling.nn.Functional;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.EncodeOptions;
import dev.kindling.tokenizers.HuggingFaceTokenizer;
import dev.kindling.tokenizers.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What quantization costs in quality. {@code gpt RUN_DIR}: validation loss of a trained GPT (a {@code train gpt}
 * run folder with tokens.bin) in FP32, BF16, int8 and int4, on the same 200 batches of the validation split.
 * {@code embed MODEL_DIR TEXTS}: cosine similarity of each quantized embedding (mean pooling, unit length) to
 * the FP32 one, over the non-empty lines of TEXTS. Round-to-nearest formats first, then 4 bits with GPTQ (all
 * matrices int4, then the defaults of {@code kindling quantize --bits 4}), on the built-in calibration text or
 * on CALIBRATION when given. Each row also gives the bytes of the quantized matrices.
 * <pre>java -cp ... dev.kindling.bench.QuantQuality gpt runs/shakespeare [CALIBRATION] | embed minilm texts.txt [CALIBRATION]</pre>
 */
public final class QuantQuality {
    private static final int[][] FORMATS = {{8, 0}, {8, 128}, {4, 128}, {4, 64}, {4, 32}};

    private QuantQuality() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) throw new IllegalArgumentException("usage: QuantQuality gpt RUN_DIR [CALIBRATION] | embed MODEL_DIR TEXTS [CALIBRATION]");
        Path dir = Path.of(args[1]), tmp = Files.createTempDirectory("kindling-quality");
        if (args[0].equals("gpt")) gpt(dir, args.length > 2 ? Path.of(args[2]) : null, tmp);
        else embed(dir, Path.of(args[2]), args.length > 3 ? Path.of(args[3]) : null, tmp);
    }

    /** The variants measured, named as the table rows name them. */
    private static Map<String, ModelQuantizer.Options> variants(Path calibration) {
        Map<String, ModelQuantizer.Options> v = new LinkedHashMap<>();
        for (int[] f : FORMATS)
            v.put("int" + f[0] + (f[1] == 0 ? " per row" : " groups of " + f[1]),
                    new ModelQuantizer.Options(f[0], f[1], ModelQuantizer.Rounding.NEAREST, null, ModelQuantizer.FeedForward.SAME));
        String cal = calibration == null ? "built-in text" : calibration.getFileName().toString();
        v.put("int4 groups of 32, GPTQ (" + cal + "), all int4",
                new ModelQuantizer.Options(4, 32, ModelQuantizer.Rounding.GPTQ, calibration, ModelQuantizer.FeedForward.SAME));
        v.put("int4 default (GPTQ on " + cal + ", feed-forward auto)",
                new ModelQuantizer.Options(4, 32, ModelQuantizer.Rounding.GPTQ, calibration, ModelQuantizer.FeedForward.AUTO));
        return v;
    }

    static void gpt(Path run, Path calibration, Path tmp) throws Exception {
        Path tokens = run.resolve("tokens.bin");
        double fp32 = valLoss(run, DType.FLOAT32, tokens);
        System.out.println("| weights | val loss | change vs FP32 | matrices MB |\n|---|---:|---:|---:|");
        System.out.printf("| FP32 | %.4f | | |%n", fp32);
        double bf16 = valLoss(run, DType.BF16, tokens);
        System.out.printf("| BF16 | %.4f | %+.4f | |%n", bf16, bf16 - fp32);
        int i = 0;
        for (var v : variants(calibration).entrySet()) {
            Path q = tmp.resolve("q" + i++);
            var r = ModelQuantizer.quantize(run, q, v.getValue());
            double loss = valLoss(q, DType.FLOAT32, tokens);
            System.out.printf("| %s | %.4f | %+.4f | %.3f |%s%n", v.getKey(), loss, loss - fp32, r.bytesAfter() / 1e6, note(r));
        }
    }

    private static String note(ModelQuantizer.Result r) {
        return (r.int8Matrices() > 0 ? " " + r.int8Matrices() + " matrices int8;" : "")
                + (r.calibrationTokens() > 0 ? " " + r.calibrationTokens() + " calibration tokens;" : "")
                + (r.note() != null ? " " + r.note() : "");
    }

    /** Mean cross-entropy over 200 batches of 12 windows from the last 10% of the run's tokens.bin (the recipe's split). */
    static double valLoss(Path model, DType dtype, Path tokens) throws Exception {
        try (AutoModel auto = AutoModel.fromPretrained(model, dtype); TokenFile tf = TokenFile.open(tokens); var noGrad = Grad.disabled()) {
            Gpt gpt = auto.as(Gpt.class);
            long n = tf.size(), split = (long) (n * 0.9);
            Generator g = new Generator(1234);
            double sum = 0;
            int batches = 200;
            for (int i = 0; i < batches; i++) {
                Batch b = tf.batch(g, 12, gpt.config.blockSize(), split, n);
                Tensor logits = gpt.forward(b.input());
                int v = logits.size(-1);
                sum += Functional.crossEntropy(logits.reshape(-1, v), b.target().reshape(-1), -100, 0, Functional.Reduction.MEAN).item();
            }
            return sum / batches;
        }
    }

    static void embed(Path model, Path textsFile, Path calibration, Path tmp) throws Exception {
        List<String> texts = Files.readAllLines(textsFile).stream().filter(s -> !s.isBlank()).toList();
        Tokenizer t = Tokenizer.load(model.resolve("tokenizer.json"));
        EncodeOptions opts = EncodeOptions.DEFAULT.withMaxLength(256).withTruncation(true);
        TextTokenizer tok = text -> {
            var e = ((HuggingFaceTokenizer) t).encode(text, opts);
            return new TextTokenizer.Encoding(e.ids(), e.attentionMask());
        };
        List<float[]> ref = embeddings(model, DType.FLOAT32, tok, texts);
        System.out.println("| weights | mean cosine to FP32 | min cosine | matrices MB |\n|---|---:|---:|---:|");
        report("BF16", ref, embeddings(model, DType.BF16, tok, texts), null);
        int i = 0;
        for (var v : variants(calibration).entrySet()) {
            Path q = tmp.resolve("q" + i++);
            var r = ModelQuantizer.quantize(model, q, v.getValue());
            report(v.getKey(), ref, embeddings(q, DType.FLOAT32, tok, texts), r);
        }
    }

    private static List<float[]> embeddings(Path model, DType dtype, TextTokenizer tok, List<String> texts) throws Exception {
        try (AutoModel auto = AutoModel.fromPretrained(model, dtype)) {
            return Embedder.builder(auto, tok).batchSize(16).maxLength(256).pooling(Embedder.Pooling.MEAN).normalize(true).build().embed(texts);
        }
    }

    private static void report(String name, List<float[]> ref, List<float[]> got, ModelQuantizer.Result r) {
        double sum = 0, min = 1;
        for (int i = 0; i < ref.size(); i++) {
            double dot = 0;
            for (int j = 0; j < ref.get(i).length; j++) dot += (double) ref.get(i)[j] * got.get(i)[j];
            sum += dot;
            min = Math.min(min, dot);
        }
        System.out.printf("| %s | %.5f | %.5f | %s |%s%n", name, sum / ref.size(), min, r == null ? "" : String.format("%.2f", r.bytesAfter() / 1e6),
                r == null ? "" : note(r));
    }
}
