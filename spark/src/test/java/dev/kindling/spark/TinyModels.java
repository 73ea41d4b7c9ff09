package dev.kindling.spark;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Model folders the tests write: a tiny random BERT with a character tokenizer. */
final class TinyModels {
    static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz .,\n";
    static final int HIDDEN = 8, FFN = 16, POSITIONS = 16;

    static CharTokenizer chars() {
        return CharTokenizer.fromText(ALPHABET);
    }

    /** A BERT encoder (Hugging Face names) with random weights, config.json and tokenizer.json. */
    static Path bert(Path dir) throws Exception {
        Files.createDirectories(dir);
        CharTokenizer tok = chars();
        tok.save(dir.resolve("tokenizer.json"));
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "bert");
        cfg.put("vocab_size", tok.vocabSize());
        cfg.put("hidden_size", HIDDEN);
        cfg.put("num_hidden_layers", 1);
        cfg.put("num_attention_heads", 2);
        cfg.put("intermediate_size", FFN);
        cfg.put("max_position_embeddings", POSITIONS);
        Files.writeString(dir.resolve("config.json"), Json.write(cfg));
        Generator g = new Generator(3);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("embeddings.word_embeddings.weight", Tensor.randn(g, tok.vocabSize(), HIDDEN));
        w.put("embeddings.position_embeddings.weight", Tensor.randn(g, POSITIONS, HIDDEN));
        w.put("embeddings.token_type_embeddings.weight", Tensor.randn(g, 2, HIDDEN));
        norm(w, "embeddings.LayerNorm");
        String p = "encoder.layer.0.";
        for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"})
            dense(w, g, p + m, HIDDEN, HIDDEN);
        norm(w, p + "attention.output.LayerNorm");
        dense(w, g, p + "intermediate.dense", FFN, HIDDEN);
        dense(w, g, p + "output.dense", HIDDEN, FFN);
        norm(w, p + "output.LayerNorm");
        StateDicts.save(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        return dir;
    }

    private static void dense(Map<String, Tensor> w, Generator g, String name, int out, int in) {
        w.put(name + ".weight", Tensor.randn(g, out, in).mul(0.3));
        w.put(name + ".bias", Tensor.randn(g, out).mul(0.1));
    }

    private static void norm(Map<String, Tensor> w, String name) {
        w.put(name + ".weight", Tensor.ones(HIDDEN));
        w.put(name + ".bias", Tensor.zeros(HIDDEN));
    }
}
