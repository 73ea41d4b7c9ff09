package dev.kindling.models;

import java.util.List;
import java.util.Map;

/**
 * BERT encoder hyperparameters, read from a Hugging Face config.json ({@link #fromHuggingFace}). Validated on
 * construction; errors name the config key and its value.
 *
 * @param hiddenAct the feed-forward activation: "gelu" (exact, erf), "gelu_new" / "gelu_pytorch_tanh" (tanh
 *     form) or "relu"
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
                         String hiddenAct, int maxPositionEmbeddings, int typeVocabSize, double layerNormEps) {
    static final List<String> ACTIVATIONS = List.of("gelu", "gelu_new", "gelu_pytorch_tanh", "relu");

    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("type_vocab_size", typeVocabSize);
        if (hiddenSize <= 0 || hiddenSize % numAttentionHeads != 0)
            throw new IllegalArgumentException("BertConfig: hidden_size " + hiddenSize + " is not a positive multiple of num_attention_heads "
                    + numAttentionHeads);
        if (!ACTIVATIONS.contains(hiddenAct))
            throw new IllegalArgumentException("BertConfig: hidden_act '" + hiddenAct + "' is not supported (supported: " + ACTIVATIONS + ")");
        if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps))
            throw new IllegalArgumentException("BertConfig: layer_norm_eps must be positive and finite, got " + layerNormEps);
    }

    /** Size of one attention head. */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Reads a BERT-style config.json (as parsed JSON). hidden_act defaults to "gelu", type_vocab_size to 2 and
     * layer_norm_eps to 1e-12, as in transformers; only absolute position embeddings are supported.
     *
     * @throws IllegalArgumentException naming the key if one is missing, not a number, or out of range
     */
    public static BertConfig fromHuggingFace(Map<String, Object> m) {
        Object positions = m.get("position_embedding_type");
        if (positions != null && !"absolute".equals(positions))
            throw new IllegalArgumentException("BertConfig: position_embedding_type '" + positions + "' is not supported (only 'absolute')");
        Object act = m.getOrDefault("hidden_act", "gelu");
        if (!(act instanceof String a)) throw new IllegalArgumentException("BertConfig: hidden_act must be a string, got " + act);
        return new BertConfig(intOf(m, "vocab_size", null), intOf(m, "hidden_size", null), intOf(m, "num_hidden_layers", null),
                intOf(m, "num_attention_heads", null), intOf(m, "intermediate_size", null), a,
                intOf(m, "max_position_embeddings", null), intOf(m, "type_vocab_size", 2),
                m.get("layer_norm_eps") instanceof Number n ? n.doubleValue() : 1e-12);
    }

    private static int intOf(Map<String, Object> m, String key, Integer fallback) {
        Object v = m.get(key);
        if (v == null && fallback != null) return fallback;
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || Math.abs(n.doubleValue()) > Integer.MAX_VALUE)
            throw new IllegalArgumentException("BertConfig: config.json key '" + key + "' is missing or not an integer (got " + v + ")");
        return n.intValue();
    }

    private static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException("BertConfig: " + key + " must be positive, got " + v);
    }
}
