package dev.kindling.onnx;

import dev.kindling.models.Encoder;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A BERT-style encoder exported to ONNX (as sentence-transformers and Hugging Face Optimum export them): inputs
 * {@code input_ids} and, if the model declares them, {@code attention_mask} and {@code token_type_ids}; output
 * {@code last_hidden_state} (or the model's first output) [B, T, hidden].
 * <pre>{@code
 * Encoder encoder = OnnxEncoder.load(Path.of("all-minilm-l6-v2.onnx"));
 * var embedder = Embedder.builder(encoder, tokenizer).build();
 * }</pre>
 */
public final class OnnxEncoder implements Encoder {
    private final OnnxModel model;
    private final String output;
    private final boolean hasMask, hasTypes;
    private final int maxPositions;

    /**
     * Wraps a loaded model.
     *
     * @throws IllegalArgumentException if the model has no {@code input_ids} input, or inputs other than the three
     *     above
     */
    public OnnxEncoder(OnnxModel model) {
        this.model = model;
        var inputs = model.inputNames();
        if (!inputs.contains("input_ids"))
            throw new IllegalArgumentException("onnx: " + model + " has no 'input_ids' input, so it is not a text encoder");
        for (String in : inputs)
            if (!in.equals("input_ids") && !in.equals("attention_mask") && !in.equals("token_type_ids"))
                throw new IllegalArgumentException("onnx: encoder input '" + in + "' is not one of input_ids, attention_mask, token_type_ids");
        hasMask = inputs.contains("attention_mask");
        hasTypes = inputs.contains("token_type_ids");
        output = model.outputNames().contains("last_hidden_state") ? "last_hidden_state" : model.outputNames().get(0);
        maxPositions = maxPositions(model.graph().initializerShapes);
    }

    /** Loads {@code file} (see {@link OnnxModel#load}) as an encoder. */
    public static OnnxEncoder load(Path file) throws IOException {
        return new OnnxEncoder(OnnxModel.load(file));
    }

    /**
     * Writes a BERT encoder exported by torch.onnx (Hugging Face or sentence-transformers naming, as
     * all-MiniLM-L6-v2's export) as a Hugging Face folder (config.json, model.safetensors in F32), which
     * {@code AutoModel.fromPretrained} then loads in F32, BF16 or F16. The layer norm epsilon is written as BERT's
     * 1e-12.
     *
     * @throws IllegalArgumentException if the file does not have that export's structure
     */
    public static void exportBertFolder(Path onnxFile, Path dir) throws IOException {
        BertExport.write(onnxFile, dir);
    }

    /** The underlying model. */
    public OnnxModel model() {
        return model;
    }

    @Override
    public Tensor encode(Tensor ids, Tensor attentionMask, Tensor tokenTypeIds) {
        if (ids.dim() != 2) throw new IllegalArgumentException("OnnxEncoder: ids must be [B, T], got shape " + Arrays.toString(ids.shape()));
        int b = ids.size(0), t = ids.size(1);
        if (t > maxPositions) throw new IllegalArgumentException("OnnxEncoder: " + t + " tokens exceed the model's " + maxPositions + " positions");
        Map<String, Tensor> in = new HashMap<>();
        in.put("input_ids", ids);
        if (hasMask) in.put("attention_mask", attentionMask != null ? attentionMask : Tensor.ones(b, t).to(DType.INT64));
        if (hasTypes) in.put("token_type_ids", tokenTypeIds != null ? tokenTypeIds : Tensor.zeros(DType.INT64, b, t));
        Tensor out = model.run(in).get(output);
        if (out.dim() != 3 || out.size(0) != b || out.size(1) != t)
            throw new IllegalArgumentException("OnnxEncoder: output '" + output + "' has shape " + Arrays.toString(out.shape()) + ", expected [" + b + ", " + t + ", hidden]");
        return out;
    }

    /** The rows of the position-embedding table if the model has one (BERT exports name it so), else no limit. */
    @Override
    public int maxPositions() {
        return maxPositions;
    }

    private static int maxPositions(Map<String, int[]> initializers) {
        for (var e : initializers.entrySet())
            if (e.getKey().endsWith("position_embeddings.weight") && e.getValue().length == 2) return e.getValue()[0];
        return Integer.MAX_VALUE;
    }

    @Override
    public String toString() {
        return "OnnxEncoder(" + model + ")";
    }
}
