package dev.kindling.models;

import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsIndex;
import dev.kindling.nn.Module;
import dev.kindling.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A pretrained model loaded from a Hugging Face model folder (config.json next to model.safetensors or a sharded
 * model.safetensors.index.json), its architecture picked from config.json's {@code model_type} (or
 * {@code architectures}): BERT-family encoders ({@link BertModel}; BERT, MiniLM / sentence-transformers) and GPT-2
 * ({@link Gpt}). Closing it releases the file mappings and converted weights, after which the model must not run.
 * <pre>{@code
 * try (var auto = AutoModel.fromPretrained(dir, DType.BF16)) {
 *     BertModel bert = auto.as(BertModel.class);
 *     Tensor hidden = bert.forward(ids, mask, null);
 * }}</pre>
 */
public final class AutoModel implements AutoCloseable {
    /** The model types {@link #fromPretrained} supports. */
    public static final List<String> SUPPORTED = List.of("bert", "gpt2");

    private final String modelType;
    private final Module module;
    private final SafetensorsIndex weights; // null when the loader read everything to the heap
    private final Arena arena;

    private AutoModel(String modelType, Module module, SafetensorsIndex weights, Arena arena) {
        this.modelType = modelType;
        this.module = module;
        this.weights = weights;
        this.arena = arena;
    }

    /**
     * Loads the model in {@code dir}. With {@code dtype} FLOAT32 the weights are read into heap tensors. With BF16
     * or F16 the weight matrices stay in that dtype: mapped in place when the file stores that dtype, otherwise
     * converted once at load (biases and norms are always FLOAT32); matmuls then read them directly. A folder
     * written by {@link ModelQuantizer} keeps its int8/int4 matrices (mapped in place) whatever {@code dtype} says;
     * its other matrices follow {@code dtype}. A GPT-2 model in FLOAT32 is trainable ({@link GptLoader}); in any
     * other form it is frozen (inference only).
     *
     * @throws IOException if config.json or the weights are missing or unreadable
     * @throws IllegalArgumentException if the model type is not supported, the config is invalid, or a weight is
     *     missing or has the wrong shape (each named)
     */
    public static AutoModel fromPretrained(Path dir, DType dtype) throws IOException {
        return load(dir, dtype, true);
    }

    /**
     * {@link #fromPretrained}; with {@code trainableGpt} false an FP32 GPT-2 is built on frozen matrices as the
     * other dtypes are, so that every projection runs through {@link WeightMatrix#linear} (what {@link Calibration}
     * observes).
     */
    static AutoModel load(Path dir, DType dtype, boolean trainableGpt) throws IOException {
        if (dtype != DType.FLOAT32 && dtype != DType.BF16 && dtype != DType.F16)
            throw new IllegalArgumentException("AutoModel: dtype " + dtype + " is not supported (FLOAT32, BF16 or F16)");
        Map<String, Object> config = readConfig(dir);
        String type = modelType(config, dir);
        QuantizationConfig quant = QuantizationConfig.of(config);
        if (type.equals("gpt2") && dtype == DType.FLOAT32 && quant == null && trainableGpt)
            return new AutoModel(type, GptLoader.load(dir), null, null); // trainable, as train gpt writes it
        SafetensorsIndex index = SafetensorsIndex.open(dir);
        Arena arena = Arena.ofShared();
        try {
            Module model;
            if (type.equals("gpt2")) {
                GptConfig gptConfig = GptConfig.fromHuggingFace(config);
                String prefix = index.contains("transformer.wte.weight") ? "transformer." : "";
                model = new Gpt(gptConfig, new WeightSource(index, dtype, arena, prefix, "gpt2", quant));
            } else {
                BertConfig bertConfig = BertConfig.fromHuggingFace(config);
                String prefix = !index.contains("embeddings.word_embeddings.weight") && index.contains("bert.embeddings.word_embeddings.weight")
                        ? "bert." : "";
                model = new BertModel(bertConfig, new WeightSource(index, dtype, arena, prefix, "bert", quant));
                model.eval();
            }
            return new AutoModel(type, model, index, arena);
        } catch (RuntimeException e) {
            index.close();
            arena.close();
            throw e;
        }
    }

    /** The config's model type as the loader understood it: "bert" or "gpt2". */
    public String modelType() {
        return modelType;
    }

    /** The loaded model. */
    public Module module() {
        return module;
    }

    /**
     * The loaded model as {@code type}.
     *
     * @throws IllegalArgumentException naming both types if the model is something else
     */
    public <T extends Module> T as(Class<T> type) {
        if (!type.isInstance(module))
            throw new IllegalArgumentException("AutoModel: the " + modelType + " model is a " + module.getClass().getSimpleName()
                    + ", not a " + type.getSimpleName());
        return type.cast(module);
    }

    /** Releases the weight mappings and converted weights. */
    @Override
    public void close() {
        if (weights != null) weights.close();
        if (arena != null) arena.close();
    }

    static Map<String, Object> readConfig(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new IOException("AutoModel: " + dir + " has no config.json");
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> raw)) throw new IOException(file + ": expected a JSON object");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) raw;
        return m;
    }

    /** "bert" or "gpt2" from model_type, else from the architectures' names (e.g. "BertModel"). */
    static String modelType(Map<String, Object> config, Path dir) {
        Object type = config.get("model_type");
        Object archs = config.get("architectures");
        if (type instanceof String s) {
            if (SUPPORTED.contains(s)) return s;
        } else if (archs instanceof List<?> list) {
            for (Object a : list) {
                if (a instanceof String s && s.startsWith("Bert")) return "bert";
                if (a instanceof String s && s.startsWith("GPT2")) return "gpt2";
            }
        }
        throw new IllegalArgumentException("AutoModel: model_type '" + type + "' (architectures " + archs + ") in " + dir.resolve("config.json")
                + " is not supported; supported: " + SUPPORTED);
    }
}
