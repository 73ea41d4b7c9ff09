package dev.kindling.server;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.ByteLevelBpeTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes model folders with seeded random weights in the Hugging Face layout the server loads, for the tests and
 * the load benchmark: a GPT with a byte-level BPE tokenizer (any text encodes; {@code <|endoftext|>} is its end of
 * text) and a BERT encoder with a WordPiece tokenizer.json.
 */
public final class TestModels {
    private TestModels() {}

    /** A GPT of the given shape (its vocabulary is the tokenizer's, about 300 ids). */
    public static void writeGpt(Path dir, int blockSize, int nLayer, int nHead, int nEmbd, long seed) throws IOException {
        Files.createDirectories(dir);
        String corpus = "Once upon a time there was a small model that served text over HTTP. ".repeat(20)
                + "The quick brown fox jumps over the lazy dog. 0123456789 ".repeat(10);
        var tok = ByteLevelBpeTokenizer.train(corpus, 300, Set.of("<|endoftext|>"));
        tok.save(dir.resolve("tokenizer.json"));
        var config = new GptConfig(tok.vocabSize(), blockSize, nLayer, nHead, nEmbd, 0.0, true);
        var model = new Gpt(config, new Generator(seed));
        StateDicts.save(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        Files.writeString(dir.resolve("config.json"), Json.write(config.toHuggingFace()));
    }

    /** WordPiece over lowercase letters, digits and punctuation, whole words for a few common ones. */
    public static List<String> bertVocab() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (String w : List.of("the", "cat", "sits", "on", "mat", "a", "is", "sitting", "dog", "hello", "world")) v.add(w);
        for (char ch = 'a'; ch <= 'z'; ch++) if (!v.contains(String.valueOf(ch))) v.add(String.valueOf(ch));
        for (char ch = '0'; ch <= '9'; ch++) v.add(String.valueOf(ch));
        for (char ch : ".,!?;:'\"-()".toCharArray()) v.add(String.valueOf(ch));
        for (char ch = 'a'; ch <= 'z'; ch++) v.add("##" + ch);
        for (char ch = '0'; ch <= '9'; ch++) v.add("##" + ch);
        return v;
    }

    /** A BERT encoder (GELU, 2 token types, intermediate size 2 x hidden). */
    public static void writeBert(Path dir, int hidden, int layers, int heads, int positions, long seed) throws IOException {
        Files.createDirectories(dir);
        List<String> vocab = bertVocab();
        int h = hidden, inter = 2 * hidden, v = vocab.size();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architectures", List.of("BertModel"));
        config.put("model_type", "bert");
        config.put("vocab_size", v);
        config.put("hidden_size", h);
        config.put("num_hidden_layers", layers);
        config.put("num_attention_heads", heads);
        config.put("intermediate_size", inter);
        config.put("hidden_act", "gelu");
        config.put("max_position_embeddings", positions);
        config.put("type_vocab_size", 2);
        config.put("layer_norm_eps", 1e-12);
        config.put("pad_token_id", 0);
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        var g = new Generator(seed);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("embeddings.word_embeddings.weight", Tensor.randn(g, v, h));
        w.put("embeddings.position_embeddings.weight", Tensor.randn(g, positions, h).mul(0.1f));
        w.put("embeddings.token_type_embeddings.weight", Tensor.randn(g, 2, h).mul(0.1f));
        norm(w, "embeddings.LayerNorm", h);
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            dense(w, g, p + "attention.self.query", h, h);
            dense(w, g, p + "attention.self.key", h, h);
            dense(w, g, p + "attention.self.value", h, h);
            dense(w, g, p + "attention.output.dense", h, h);
            norm(w, p + "attention.output.LayerNorm", h);
            dense(w, g, p + "intermediate.dense", inter, h);
            dense(w, g, p + "output.dense", h, inter);
            norm(w, p + "output.LayerNorm", h);
        }
        StateDicts.save(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        Files.writeString(dir.resolve("tokenizer.json"), Json.write(wordPieceJson(vocab)));
    }

    private static void dense(Map<String, Tensor> w, Generator g, String name, int out, int in) {
        w.put(name + ".weight", Tensor.randn(g, out, in).mul((float) (1 / Math.sqrt(in))));
        w.put(name + ".bias", Tensor.zeros(out));
    }

    private static void norm(Map<String, Tensor> w, String name, int h) {
        w.put(name + ".weight", Tensor.ones(h));
        w.put(name + ".bias", Tensor.zeros(h));
    }

    private static Map<String, Object> wordPieceJson(List<String> vocab) {
        Map<String, Object> ids = new LinkedHashMap<>();
        for (int i = 0; i < vocab.size(); i++) ids.put(vocab.get(i), i);
        List<Object> added = new ArrayList<>();
        for (int i = 0; i < 5; i++)
            added.add(Map.of("id", i, "content", vocab.get(i), "single_word", false, "lstrip", false, "rstrip", false,
                    "normalized", false, "special", true));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", added);
        root.put("normalizer", Map.of("type", "BertNormalizer", "clean_text", true, "handle_chinese_chars", true, "lowercase", true));
        root.put("pre_tokenizer", Map.of("type", "BertPreTokenizer"));
        root.put("post_processor", Map.of("type", "TemplateProcessing",
                "single", List.of(Map.of("SpecialToken", Map.of("id", "[CLS]", "type_id", 0)), Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 0))),
                "pair", List.of(Map.of("SpecialToken", Map.of("id", "[CLS]", "type_id", 0)), Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 0)), Map.of("Sequence", Map.of("id", "B", "type_id", 1)),
                        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 1))),
                "special_tokens", Map.of("[CLS]", Map.of("id", "[CLS]", "ids", List.of(2), "tokens", List.of("[CLS]")),
                        "[SEP]", Map.of("id", "[SEP]", "ids", List.of(3), "tokens", List.of("[SEP]")))));
        root.put("decoder", Map.of("type", "WordPiece", "prefix", "##", "cleanup", true));
        root.put("model", Map.of("type", "WordPiece", "unk_token", "[UNK]", "continuing_subword_prefix", "##",
                "max_input_chars_per_word", 100, "vocab", ids));
        return root;
    }
}
