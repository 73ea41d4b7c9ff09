package dev.kindling.models;

import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsFile;
import dev.kindling.io.SafetensorsIndex;
import dev.kindling.io.SafetensorsWriter;
import dev.kindling.io.TensorInfo;
import dev.kindling.kernels.Gptq;
import dev.kindling.kernels.Quantization;
import dev.kindling.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a quantized copy of a model folder ({@code kindling quantize}): the weight matrices of the linear layers
 * and the token embedding table become group-wise int8 or int4 codes with float scales ({@link Quantization}),
 * the rest (biases, norms, position embeddings) is copied unchanged, config.json gains a
 * {@code quantization_config}, and the tokenizer files are copied. {@link AutoModel#fromPretrained} loads the
 * result, reading the codes in place.
 *
 * <p>Codes are chosen by round-to-nearest, or by GPTQ ({@link Gptq}) on the activations the FP32 model produces for
 * calibration text (a built-in English text, or the user's). 4-bit encoders (BERT) keep their feed-forward matrices
 * in int8: measured on all-MiniLM-L6-v2 they carry most of the int4 error (GPTQ all int4: cosine 0.984 to FP32;
 * feed-forward in int8: 0.992, for 25% more bytes), while GPT-2 stays all int4, as its decoding speed is set by the
 * bytes it reads.
 * <pre>{@code
 * var r = ModelQuantizer.quantize(Path.of("runs/gpt"), Path.of("runs/gpt-int8"), 8, 0);   // per-row int8
 * var q = ModelQuantizer.quantize(Path.of("minilm"), Path.of("minilm-int4"), ModelQuantizer.Options.of(4));
 * }</pre>
 */
public final class ModelQuantizer {
    /** GPT-2: the tied token embedding (also the lm head) and the Conv1D weights, stored [in, out]. */
    private static final Pattern GPT2 = Pattern.compile("(transformer\\.)?(wte|h\\.\\d+\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj))\\.weight");
    /** BERT: word embeddings and the six Linear weights of each layer, stored [out, in]. */
    private static final Pattern BERT = Pattern.compile("(bert\\.)?(embeddings\\.word_embeddings|encoder\\.layer\\.\\d+\\."
            + "(attention\\.self\\.(query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense))\\.weight");
    /** The two matrices of each feed-forward block (GPT-2's mlp.c_fc and mlp.c_proj, BERT's intermediate and output). */
    private static final Pattern FEED_FORWARD = Pattern.compile(".*(\\.mlp\\.c_fc|\\.mlp\\.c_proj|\\.intermediate\\.dense|layer\\.\\d+\\.output\\.dense)\\.weight");

    private ModelQuantizer() {}

    /** How the integer codes are chosen. */
    public enum Rounding {
        /** Each weight to the nearest code of its group's scale: no data needed. */
        NEAREST,
        /** GPTQ on calibration activations: rounding errors moved onto the not yet quantized inputs. */
        GPTQ
    }

    /** Whether the feed-forward matrices of a 4-bit model stay int8. */
    public enum FeedForward {
        /** INT8 for encoders (BERT), SAME for GPT-2, whose decoding speed depends on every matrix being int4. */
        AUTO,
        /** The same bits as every other matrix. */
        SAME,
        /** int8 codes (same group size) for GPT-2's mlp.c_fc and mlp.c_proj, BERT's intermediate.dense and output.dense. */
        INT8
    }

    /**
     * What to write.
     *
     * @param bits 8 or 4
     * @param groupSize scales per group of this many input features (a multiple of 32), or 0 for one scale per row
     * @param rounding how codes are chosen
     * @param calibration text for GPTQ (one sample per non-empty line), or null for the built-in text
     * @param feedForward whether the feed-forward matrices of a 4-bit model stay int8
     */
    public record Options(int bits, int groupSize, Rounding rounding, Path calibration, FeedForward feedForward) {
        /** @throws IllegalArgumentException naming the values if they do not fit together */
        public Options {
            new QuantizationConfig(bits, groupSize); // checks bits and the group size
            if (rounding == null || feedForward == null) throw new IllegalArgumentException("quantize: rounding and feedForward must not be null");
            if (calibration != null && rounding != Rounding.GPTQ)
                throw new IllegalArgumentException("quantize: a calibration file (" + calibration + ") is only read by GPTQ rounding, not " + rounding);
            if (bits == 8 && feedForward == FeedForward.INT8)
                throw new IllegalArgumentException("quantize: feed-forward matrices in int8 is what 8 bits does to every matrix; it applies to 4 bits");
        }

        /**
         * The defaults for {@code bits}: 4 bits in groups of 32 with GPTQ on the built-in calibration text (and
         * feed-forward AUTO); 8 bits with one scale per row and round-to-nearest.
         */
        public static Options of(int bits) {
            return bits == 4 ? new Options(4, 32, Rounding.GPTQ, null, FeedForward.AUTO) : new Options(bits, 0, Rounding.NEAREST, null, FeedForward.SAME);
        }
    }

    /**
     * What {@link #quantize} did.
     *
     * @param matrices how many matrices were quantized
     * @param int8Matrices how many of them in int8 in a 4-bit model (feed-forward matrices)
     * @param bytesBefore bytes of those matrices in the source file
     * @param bytesAfter bytes of their codes and scales
     * @param rounding how the codes were chosen
     * @param calibrationTokens tokens of calibration text GPTQ saw (0 for round-to-nearest)
     * @param note why GPTQ fell back to round-to-nearest, or null
     */
    public record Result(int matrices, int int8Matrices, long bytesBefore, long bytesAfter, Rounding rounding, long calibrationTokens,
                         String note) {}

    /**
     * Quantizes the model in {@code in} (a BERT or GPT-2 folder that {@link AutoModel} loads) into {@code out} with
     * round-to-nearest codes, every matrix in {@code bits}.
     *
     * @param bits 8 or 4
     * @param groupSize scales per group of this many input features (a multiple of 32), or 0 for one scale per row
     * @throws IOException if the folder cannot be read or the output written
     * @throws IllegalArgumentException if bits or the group size are invalid, the model is already quantized or of
     *     an unsupported type, or a weight is not finite (each named)
     */
    public static Result quantize(Path in, Path out, int bits, int groupSize) throws IOException {
        return quantize(in, out, new Options(bits, groupSize, Rounding.NEAREST, null, FeedForward.SAME));
    }

    /**
     * Quantizes the model in {@code in} into {@code out} as {@code options} say. With GPTQ on the built-in text,
     * a model whose tokenizer cannot encode any of it (or a folder without tokenizer.json) falls back to
     * round-to-nearest, and the result's note says so; a user's calibration file must work or is an error.
     *
     * @throws IOException if a folder or the calibration file cannot be read or the output written
     * @throws IllegalArgumentException as {@link #quantize(Path, Path, int, int)}, or if the calibration file has no
     *     line the tokenizer encodes
     */
    public static Result quantize(Path in, Path out, Options options) throws IOException {
        Map<String, Object> config = AutoModel.readConfig(in);
        if (QuantizationConfig.of(config) != null)
            throw new IllegalArgumentException("quantize: " + in + " is already quantized (" + config.get(QuantizationConfig.KEY) + ")");
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
            throw new IllegalArgumentException("quantize: --out " + out + " is the input folder; write to another one");
        boolean gpt = AutoModel.modelType(config, in).equals("gpt2");
        boolean ffnInt8 = options.bits() == 4 && (options.feedForward() == FeedForward.INT8 || options.feedForward() == FeedForward.AUTO && !gpt);
        java.util.function.ToIntFunction<String> bitsOf = name -> ffnInt8 && FEED_FORWARD.matcher(name).matches() ? 8 : options.bits();
        QuantizationConfig quant = new QuantizationConfig(options.bits(), options.groupSize());
        if (options.rounding() == Rounding.NEAREST) return write(in, out, quant, Map.of(), bitsOf, Rounding.NEAREST, 0, null);
        Calibration.Stats stats;
        try {
            stats = options.calibration() != null ? Calibration.collect(in, Calibration.read(options.calibration()), true)
                    : Calibration.collect(in, Calibration.builtIn(), false);
        } catch (Calibration.Unusable e) {
            if (options.calibration() != null) throw new IllegalArgumentException(e.getMessage(), e);
            return write(in, out, quant, Map.of(), bitsOf, Rounding.NEAREST, 0, e.getMessage() + "; rounded to nearest");
        }
        return write(in, out, quant, stats.hessians(), bitsOf, Rounding.GPTQ, stats.tokens(), null);
    }

    /**
     * Writes the quantized folder: each matrix gets {@code bitsOf} its name (8 or 4; 0 keeps it as it is), by GPTQ
     * when {@code hessians} has its {@link Calibration#key}, and round-to-nearest otherwise.
     */
    static Result write(Path in, Path out, QuantizationConfig quant, Map<String, double[]> hessians,
                        java.util.function.ToIntFunction<String> bitsOf, Rounding rounding, long tokens, String note) throws IOException {
        Map<String, Object> config = AutoModel.readConfig(in);
        String type = AutoModel.modelType(config, in);
        Pattern matrices = type.equals("gpt2") ? GPT2 : BERT;
        Files.createDirectories(out);
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        int count = 0, int8 = 0;
        long before = 0, after = 0;
        try (SafetensorsIndex index = SafetensorsIndex.open(in)) {
            for (String name : index.names()) {
                SafetensorsFile file = index.file(name);
                TensorInfo info = index.info(name);
                if (type.equals("gpt2") && name.equals("lm_head.weight")) continue; // tied to wte
                int bits = matrices.matcher(name).matches() && info.shape().length == 2 && info.dtype().isFloatingPoint()
                        ? bitsOf.applyAsInt(name) : 0;
                if (bits == 0) {
                    tensors.put(name, new SafetensorsWriter.Entry(info.dtype(), info.shape(), file.readBytes(name)));
                    continue;
                }
                long[] shape = info.shape();
                float[] w = file.readFloats(name);
                int rows = (int) shape[0], cols = (int) shape[1];
                if (type.equals("gpt2") && !name.endsWith("wte.weight")) { // Conv1D [in, out] -> [out, in]
                    float[] t = new float[w.length];
                    for (int i = 0; i < rows; i++) for (int o = 0; o < cols; o++) t[o * rows + i] = w[i * cols + o];
                    w = t;
                    rows = (int) shape[1];
                    cols = (int) shape[0];
                }
                int gs = quant.groupSize(cols);
                long rowBytes = Quantization.rowBytes(bits, cols);
                byte[] codes = new byte[Math.toIntExact(rows * rowBytes)];
                float[] scales = new float[rows * Quantization.groups(cols, gs)];
                double[] h = hessians.get(Calibration.key(name));
                try {
                    if (h != null) Gptq.quantize(bits, gs, w, rows, cols, h, Gptq.DEFAULT_DAMPING, codes, scales);
                    else Quantization.quantize(bits, gs, w, 0, rows, cols, codes, scales);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("quantize: tensor '" + name + "': " + e.getMessage(), e);
                }
                tensors.put(name, new SafetensorsWriter.Entry(bits == 8 ? DType.INT8 : DType.UINT8, new long[] {rows, rowBytes}, codes));
                tensors.put(name + QuantizationConfig.SCALE_SUFFIX,
                        SafetensorsWriter.Entry.ofFloats(new long[] {rows, scales.length / rows}, scales));
                count++;
                if (bits == 8 && quant.bits() == 4) int8++;
                before += info.byteSize();
                after += codes.length + 4L * scales.length;
            }
        }
        if (count == 0) throw new IllegalArgumentException("quantize: " + in + " has no weight matrix to quantize");
        SafetensorsWriter.write(out.resolve(SafetensorsIndex.SINGLE_FILE), tensors, Map.of("format", "pt"));
        Map<String, Object> newConfig = new LinkedHashMap<>(config);
        newConfig.put(QuantizationConfig.KEY, quant.toJson());
        Files.writeString(out.resolve("config.json"), Json.write(newConfig) + "\n", StandardCharsets.UTF_8);
        copyTokenizerFiles(in, out);
        return new Result(count, int8, before, after, rounding, tokens, note);
    }

    /** tokenizer.json, vocab.txt and the like: the folder's .json, .txt and .model files other than weights and config. */
    private static void copyTokenizerFiles(Path in, Path out) throws IOException {
        try (Stream<Path> files = Files.list(in)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                boolean tokenizerLike = n.endsWith(".json") || n.endsWith(".txt") || n.endsWith(".model");
                if (!Files.isRegularFile(f) || !tokenizerLike || n.equals("config.json") || n.equals(SafetensorsIndex.INDEX_FILE)) continue;
                Files.copy(f, out.resolve(n), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
