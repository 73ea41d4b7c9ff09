package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsFile;
import dev.kindling.io.SafetensorsIndex;
import dev.kindling.io.SafetensorsWriter;
import dev.kindling.io.TensorInfo;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny BERT of tools/golden/bert_fixture.py, loaded from its Hugging Face folder by AutoModel, against
 * PyTorch's last hidden state (a batch with right padding and token types): 1e-4 in FLOAT32, 1e-2 with BF16 and
 * F16 weights (converted at load, mapped in place, and sharded).
 */
class BertParityTest {
    static Path dir;
    static Tensor ids, mask, types;
    static float[] expected, expectedBf16;

    @BeforeAll
    static void readReference() throws IOException, URISyntaxException {
        dir = Path.of(BertParityTest.class.getResource("/golden/tiny-bert/config.json").toURI()).getParent();
        try (var ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ids = Tensor.wrapLongs(ref.readLongs("input_ids"), 3, 6);
            mask = Tensor.wrapLongs(ref.readLongs("attention_mask"), 3, 6);
            types = Tensor.wrapLongs(ref.readLongs("token_type_ids"), 3, 6);
            expected = ref.readFloats("last_hidden_state");
            expectedBf16 = ref.readFloats("last_hidden_state_bf16");
        }
    }

    static void assertMatches(Path folder, DType dtype, double tol) throws IOException {
        assertMatches(folder, dtype, expected, tol);
    }

    static void assertMatches(Path folder, DType dtype, float[] expected, double tol) throws IOException {
        try (var auto = AutoModel.fromPretrained(folder, dtype); var g = Grad.disabled()) {
            assertEquals("bert", auto.modelType());
            BertModel bert = auto.as(BertModel.class);
            assertEquals(dtype, bert.weightDType());
            Tensor out = bert.forward(ids, mask, types);
            assertEquals(List.of(3, 6, 16), List.of(out.size(0), out.size(1), out.size(2)));
            float[] got = out.toFloatArray();
            double worst = 0;
            for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
            assertTrue(worst <= tol, dtype + ": largest deviation " + worst + " > " + tol);
        }
    }

    @Test
    void float32MatchesPyTorch() throws IOException {
        assertMatches(dir, DType.FLOAT32, 1e-4);
    }

    @Test
    void halfPrecisionConvertedAtLoadMatchesPyTorch() throws IOException {
        // against PyTorch with the same bf16-rounded matrices, only float32 arithmetic differs
        assertMatches(dir, DType.BF16, expectedBf16, 1e-4);
        // against the float32 model the rounding of the weights shows (largest deviation measured: 0.0100)
        assertMatches(dir, DType.BF16, 2e-2);
        assertMatches(dir, DType.F16, 1e-2);
    }

    @Test
    void bf16FileIsReadInPlaceWithoutPrefixAndFromShards(@TempDir Path tmp) throws IOException {
        // the fixture's matrices rewritten as BF16 (biases and norms F32) without the "bert." prefix, in two shards
        Map<String, SafetensorsWriter.Entry> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        Map<String, Object> weightMap = new LinkedHashMap<>();
        try (var f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            for (TensorInfo t : f.tensors()) {
                if (!t.name().startsWith("bert.")) continue;
                String name = t.name().substring(5);
                boolean first = name.startsWith("embeddings.") || name.contains("layer.0.");
                float[] v = f.readFloats(t.name());
                (first ? a : b).put(name, t.shape().length == 2 ? SafetensorsWriter.Entry.ofBf16(t.shape(), v) : SafetensorsWriter.Entry.ofFloats(t.shape(), v));
                weightMap.put(name, first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
        }
        Files.copy(dir.resolve("config.json"), tmp.resolve("config.json"));
        SafetensorsWriter.write(tmp.resolve("model-00001-of-00002.safetensors"), a, Map.of());
        SafetensorsWriter.write(tmp.resolve("model-00002-of-00002.safetensors"), b, Map.of());
        Files.writeString(tmp.resolve(SafetensorsIndex.INDEX_FILE), Json.write(Map.of("metadata", Map.of(), "weight_map", weightMap)));
        assertMatches(tmp, DType.BF16, expectedBf16, 1e-4);
        assertMatches(tmp, DType.FLOAT32, expectedBf16, 1e-4); // a BF16 file widened to FLOAT32 at load
    }

    @Test
    void float32ParametersCarryHuggingFaceNames() throws IOException {
        try (var auto = AutoModel.fromPretrained(dir, DType.FLOAT32)) {
            var names = auto.module().namedParameters().keySet();
            assertTrue(names.contains("embeddings.word_embeddings.weight"), names.toString());
            assertTrue(names.contains("encoder.layer.1.attention.self.query.weight"), names.toString());
            assertTrue(names.contains("encoder.layer.0.attention.output.LayerNorm.bias"), names.toString());
            assertTrue(names.contains("encoder.layer.1.output.dense.weight"), names.toString());
            assertEquals(5 + 2 * 16, names.size()); // 3 tables + embeddings LayerNorm (2), 16 per layer
        }
    }

    @Test
    void badInputsAreNamed(@TempDir Path tmp) throws IOException {
        try (var auto = AutoModel.fromPretrained(dir, DType.BF16)) {
            BertModel bert = auto.as(BertModel.class);
            var e = assertThrows(IndexOutOfBoundsException.class, () -> bert.forward(Tensor.wrapLongs(new long[] {2, 40}, 1, 2)));
            assertTrue(e.getMessage().contains("word_embeddings: id 40 at position 1"), e.getMessage());
            var tooLong = assertThrows(IllegalArgumentException.class, () -> bert.forward(Tensor.zeros(DType.INT64, 1, 13)));
            assertTrue(tooLong.getMessage().contains("13 tokens exceed max_position_embeddings 12"), tooLong.getMessage());
            var empty = assertThrows(IllegalArgumentException.class,
                    () -> bert.forward(Tensor.zeros(DType.INT64, 2, 3), Tensor.wrapLongs(new long[] {1, 1, 0, 0, 0, 0}, 2, 3), null));
            assertTrue(empty.getMessage().contains("attention mask row 1 has no token"), empty.getMessage());
            assertTrue(bert.parameters().stream().noneMatch(Tensor::requiresGrad), "a BF16 model is frozen");
            Tensor hidden = bert.forward(ids, mask, types); // no Grad.disabled(): nothing records a graph
            assertEquals(false, hidden.requiresGrad());
            var e2 = assertThrows(IllegalStateException.class,
                    () -> bert.layers.get(0).query.forward(Tensor.zeros(1, 16).requiresGrad(true)));
            assertTrue(e2.getMessage().contains("weights in BF16 are inference-only"), e2.getMessage());
            var gpt = assertThrows(IllegalArgumentException.class, () -> auto.as(Gpt.class));
            assertTrue(gpt.getMessage().contains("not a Gpt"), gpt.getMessage());
        }
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"]}");
        var e = assertThrows(IllegalArgumentException.class, () -> AutoModel.fromPretrained(tmp, DType.FLOAT32));
        assertTrue(e.getMessage().contains("model_type 'llama'"), e.getMessage());

        String config = Files.readString(dir.resolve("config.json")).replace("\"hidden_size\": 16", "\"hidden_size\": 8");
        Files.writeString(tmp.resolve("config.json"), config);
        Files.copy(dir.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        var shape = assertThrows(IllegalArgumentException.class, () -> AutoModel.fromPretrained(tmp, DType.BF16));
        assertTrue(shape.getMessage().contains("tensor 'bert.embeddings.word_embeddings.weight' has shape [40, 16] but config.json implies [40, 8]"),
                shape.getMessage());
        Files.writeString(tmp.resolve("config.json"), config.replace("\"hidden_size\": 8", "\"hidden_size\": 15"));
        var heads = assertThrows(IllegalArgumentException.class, () -> AutoModel.fromPretrained(tmp, DType.FLOAT32));
        assertTrue(heads.getMessage().contains("hidden_size 15 is not a positive multiple of num_attention_heads 2"), heads.getMessage());
    }

    @Test
    void gpt2FolderLoadsThroughTheGptLoader(@TempDir Path tmp) throws IOException {
        var cfg = new GptConfig(11, 8, 1, 2, 8, 0.0, true);
        var gpt = new Gpt(cfg, new dev.kindling.tensor.Generator(1));
        Files.writeString(tmp.resolve("config.json"), Json.write(cfg.toHuggingFace()));
        dev.kindling.io.StateDicts.save(tmp.resolve("model.safetensors"), gpt.stateDict(), Map.of());
        try (var auto = AutoModel.fromPretrained(tmp, DType.FLOAT32)) {
            assertEquals("gpt2", auto.modelType());
            assertEquals(gpt.parameterCount(), auto.as(Gpt.class).parameterCount());
        }
        try (var auto = AutoModel.fromPretrained(tmp, DType.BF16)) { // frozen: only norms and biases are parameters
            Gpt half = auto.as(Gpt.class);
            assertTrue(half.parameters().stream().noneMatch(dev.kindling.tensor.Tensor::requiresGrad));
            assertTrue(half.parameterCount() < gpt.parameterCount());
        }
    }
}
