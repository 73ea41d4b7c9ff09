package dev.kindling.models;

import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsFile;
import dev.kindling.io.SafetensorsIndex;
import dev.kindling.io.SafetensorsWriter;
import dev.kindling.io.TensorInfo;
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
 * <pre>{@code
 * var r = ModelQuantizer.quantize(Path.of("runs/gpt"), Path.of("runs/gpt-int8"), 8, 0);   // per-row int8
 * }</pre>
 */
public final class ModelQuantizer {
    /** GPT-2: the tied token embedding (also the lm head) and the Conv1D weights, stored [in, out]. */
    private static final Pattern GPT2 = Pattern.compile("(transformer\\.)?(wte|h\\.\\d+\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj))\\.weight");
    /** BERT: word embeddings and the six Linear weights of each layer, stored [out, in]. */
    private static final Pattern BERT = Pattern.compile("(bert\\.)?(embeddings\\.word_embeddings|encoder\\.layer\\.\\d+\\."
            + "(attention\\.self\\.(query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense))\\.weight");

    private ModelQuantizer() {}

    /**
     * What {@link #quantize} did.
     *
     * @param matrices how many matrices were quantized
     * @param bytesBefore bytes of those matrices in the source file
     * @param bytesAfter bytes of their codes and scales
     */
    public record Result(int matrices, long bytesBefore, long bytesAfter) {}

    /**
     * Quantizes the model in {@code in} (a BERT or GPT-2 folder that {@link AutoModel} loads) into {@code out}.
     *
     * @param bits 8 or 4
     * @param groupSize scales per group of this many input features (a multiple of 32), or 0 for one scale per row
     * @throws IOException if the folder cannot be read or the output written
     * @throws IllegalArgumentException if bits or the group size are invalid, the model is already quantized or of
     *     an unsupported type, or a weight is not finite (each named)
     */
    public static Result quantize(Path in, Path out, int bits, int groupSize) throws IOException {
        QuantizationConfig quant = new QuantizationConfig(bits, groupSize);
        Map<String, Object> config = AutoModel.readConfig(in);
        if (QuantizationConfig.of(config) != null)
            throw new IllegalArgumentException("quantize: " + in + " is already quantized (" + config.get(QuantizationConfig.KEY) + ")");
        String type = AutoModel.modelType(config, in);
        Pattern matrices = type.equals("gpt2") ? GPT2 : BERT;
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
            throw new IllegalArgumentException("quantize: --out " + out + " is the input folder; write to another one");
        Files.createDirectories(out);
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        int count = 0;
        long before = 0, after = 0;
        try (SafetensorsIndex index = SafetensorsIndex.open(in)) {
            for (String name : index.names()) {
                SafetensorsFile file = index.file(name);
                TensorInfo info = index.info(name);
                if (type.equals("gpt2") && name.equals("lm_head.weight")) continue; // tied to wte
                if (!matrices.matcher(name).matches() || info.shape().length != 2 || !info.dtype().isFloatingPoint()) {
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
                try {
                    Quantization.quantize(bits, gs, w, 0, rows, cols, codes, scales);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("quantize: tensor '" + name + "': " + e.getMessage(), e);
                }
                tensors.put(name, new SafetensorsWriter.Entry(bits == 8 ? DType.INT8 : DType.UINT8, new long[] {rows, rowBytes}, codes));
                tensors.put(name + QuantizationConfig.SCALE_SUFFIX,
                        SafetensorsWriter.Entry.ofFloats(new long[] {rows, scales.length / rows}, scales));
                count++;
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
        return new Result(count, before, after);
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
