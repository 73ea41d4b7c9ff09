package dev.kindling.models;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT hyperparameters (nanoGPT's GPTConfig). Validated on construction; saved as a Hugging Face GPT-2
 * config.json ({@link #toHuggingFace()}) so the folder loads in transformers. Serializable, so that model factories
 * capturing it can be shipped to Spark executors.
 */
public record GptConfig(int vocabSize, int blockSize, int nLayer, int nHead, int nEmbd, double dropout, boolean bias) implements java.io.Serializable {
    public GptConfig {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocab_size must be positive, got " + vocabSize);
        if (blockSize <= 0) throw new IllegalArgumentException("block_size must be positive, got " + blockSize);
        if (nLayer <= 0) throw new IllegalArgumentException("n_layer must be positive, got " + nLayer);
        if (nHead <= 0) throw new IllegalArgumentException("n_head must be positive, got " + nHead);
        if (nEmbd <= 0 || nEmbd % nHead != 0)
            throw new IllegalArgumentException("n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
    }

    public int headSize() {
        return nEmbd / nHead;
    }

    /** config.json in Hugging Face's GPT-2 vocabulary (plus "bias", which GPT-2 always has). */
    public Map<String, Object> toHuggingFace() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_type", "gpt2");
        m.put("architectures", java.util.List.of("GPT2LMHeadModel"));
        m.put("vocab_size", vocabSize);
        m.put("n_positions", blockSize);
        m.put("n_ctx", blockSize);
        m.put("n_embd", nEmbd);
        m.put("n_layer", nLayer);
        m.put("n_head", nHead);
        m.put("activation_function", "gelu_new");
        m.put("resid_pdrop", dropout);
        m.put("embd_pdrop", dropout);
        m.put("attn_pdrop", dropout);
        m.put("layer_norm_epsilon", 1e-5);
        m.put("initializer_range", 0.02);
        m.put("tie_word_embeddings", true);
        m.put("bias", bias);
        return m;
    }

    /** Reads a GPT-2 style config (as parsed JSON). */
    public static GptConfig fromHuggingFace(Map<String, Object> m) {
        return new GptConfig(intOf(m, "vocab_size"), intOf(m, m.containsKey("n_positions") ? "n_positions" : "n_ctx"),
                intOf(m, "n_layer"), intOf(m, "n_head"), intOf(m, "n_embd"),
                m.get("resid_pdrop") instanceof Number n ? n.doubleValue() : 0.0,
                !(m.get("bias") instanceof Boolean b) || b);
    }

    private static int intOf(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) throw new IllegalArgumentException("config.json: '" + key + "' is missing or not a number");
        return n.intValue();
    }
}
