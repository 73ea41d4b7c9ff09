package dev.kindling.server;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.ByteLevelBpeTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tiny model folders made once per test JVM, in the Hugging Face layout the server loads: a GPT with a byte-level BPE
 * tokenizer (so any text encodes) and a BERT encoder with a WordPiece tokenizer.json, both with seeded random weights.
 */
final class Fixtures {
    static final Path ROOT = Path.of("target", "test-models");
    static final Path GPT = ROOT.resolve("tiny-gpt"), BERT = ROOT.resolve("tiny-bert");
    static final GptConfig GPT_CONFIG_SHAPE = new GptConfig(1, 512, 2, 2, 32, 0.0, true);
    private static boolean made;

    private Fixtures() {}

    static synchronized void make() {
        if (made) return;
        try {
            Files.createDirectories(GPT);
            Files.createDirectories(BERT);
            makeGpt();
            makeBert();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        made = true;
    }

    private static void makeGpt() throws IOException {
        String corpus = "Once upon a time there was a small model that served text over HTTP. ".repeat(20)
                + "The quick brown fox jumps over the lazy dog. 0123456789 ".repeat(10);
        var tok = ByteLevelBpeTokenizer.train(corpus, 300, Set.of("<|endoftext|>"));
        tok.save(GPT.resolve("tokenizer.json"));
        var c = GPT_CONFIG_SHAPE;
        var config = new GptConfig(tok.vocabSize(), c.blockSize(), c.nLayer(), c.nHead(), c.nEmbd(), 0.0, true);
        var model = new Gpt(config, new Generator(11));
        StateDicts.save(GPT.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        Files.writeString(GPT.resolve("config.json"), Json.write(config.toHuggingFace()));
    }

    /** WordPiece over lowercase letters, digits and punctuation, whole words for a few common ones. */
    static List<String> bertVocab() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (String w : List.of("the", "cat", "sits", "on", "mat", "a", "is", "sitting", "dog", "hello", "world")) v.add(w);
        for (char ch = 'a'; ch <= 'z'; ch++) if (!v.contains(String.valueOf(ch))) v.add(String.valueOf(ch));
        for (char ch = '0'; ch <= '9'; ch++) v.add(String.valueOf(ch));
        for (char ch : ".,!?;:'\"-()".toCharArray()) v.add(String.valueOf(ch));
        for (char ch = 'a'; ch <= 'z'; ch++) v.add("##" + ch);
        for (char ch = '0'; ch <= '9'; ch++) v.add("##" + ch);
        return v;
    }

    private static void makeBert() throws IOException {
        List<String> vocab = bertVocab();
        int h = 16, inter = 32, layers = 2, positions = 64, v = vocab.size();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architectures", List.of("BertModel"));
        config.put("model_type", "bert");
        config.put("vocab_size", v);
        config.put("hidden_size", h);
        config.put("num_hidden_layers", layers);
        config.put("num_attention_heads", 2);
        config.put("intermediate_size", inter);
        config.put("hidden_act", "gelu");
        config.put("max_position_embeddings", positions);
        config.put("type_vocab_size", 2);
        config.put("layer_norm_eps", 1e-12);
        config.put("pad_token_id", 0);
        Files.writeString(BERT.resolve("config.json"), Json.write(config));
        var g = new Generator(12);
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
        StateDicts.save(BERT.resolve("model.safetensors"), w, Map.of("format", "pt"));
        Files.writeString(BERT.resolve("tokenizer.json"), Json.write(wordPieceJson(vocab)));
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

    /** Options for a test server on a free port with both tiny models. */
    static ServerOptions options() {
        make();
        return ServerOptions.defaults(List.of(GPT, BERT)).withPort(0).withMaxBatch(8).withMaxQueue(64);
    }

    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    static HttpResponse<String> post(int port, String path, String body, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).POST(HttpRequest.BodyPublishers.ofString(body)), headers);
    }

    static HttpResponse<String> postBytes(int port, String path, byte[] body, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)), headers);
    }

    static HttpResponse<String> get(int port, String path, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET(), headers);
    }

    private static HttpResponse<String> send(HttpRequest.Builder b, String... headers) {
        b.timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.setHeader(headers[i], headers[i + 1]);
        try {
            return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
