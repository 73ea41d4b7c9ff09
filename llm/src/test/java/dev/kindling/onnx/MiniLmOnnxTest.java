package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.EncodeOptions;
import dev.kindling.tokenizers.Encoding;
import dev.kindling.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * all-MiniLM-L6-v2 as langchain4j ships it (F32 and dynamically quantized int8 ONNX exports), run by Kindling's
 * runtime and by ONNX Runtime on the same padded batch: every mean-pooled embedding must agree to cosine 0.9999
 * (F32) and 0.99 (int8).
 */
class MiniLmOnnxTest {
    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Kindling runs transformer models in pure Java.",
            "A man is eating food.",
            "¿Dónde está la biblioteca? Está cerca de la estación.",
            "Der Zug nach München fährt um 10:45 Uhr ab.",
            "東京は日本の首都です。",
            "GPU-free inference: 32 sentences × 128 tokens, measured twice!",
            "ok",
            "In 1905, Einstein published four papers that changed physics: on the photoelectric effect, Brownian motion, "
                    + "special relativity, and the equivalence of mass and energy, each of them a landmark in its own field.",
            "Emojis 🙂 and URLs like https://example.org/a?b=c survive tokenization.");

    @TempDir
    static Path tmp;

    private static final Map<String, OnnxModel> LOADED = new java.util.HashMap<>();

    /** Each model is parsed once per test class: loading 90 MB four times would dominate the module's test time. */
    static synchronized OnnxModel fused(String name) throws IOException {
        OnnxModel m = LOADED.get(name);
        if (m == null) LOADED.put(name, m = OnnxModel.load(resource(name)));
        return m;
    }

    static Path resource(String name) throws IOException {
        Path p = tmp.resolve(name);
        if (Files.exists(p)) return p;
        try (InputStream in = MiniLmOnnxTest.class.getResourceAsStream("/" + name)) {
            if (in == null) throw new IOException(name + " is not on the test classpath");
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    @Test
    void f32MatchesOnnxRuntime() throws Exception {
        assertMatches("all-minilm-l6-v2.onnx", "all-minilm-l6-v2-tokenizer.json", 0.9999);
    }

    @Test
    void int8MatchesOnnxRuntime() throws Exception {
        assertMatches("all-minilm-l6-v2-q.onnx", "all-minilm-l6-v2-q-tokenizer.json", 0.99);
    }

    @Test
    void fusedGraphsMatchTheOpByOpGraphs() throws Exception {
        for (String name : List.of("all-minilm-l6-v2.onnx", "all-minilm-l6-v2-q.onnx")) {
            OnnxModel fused = fused(name), plain = OnnxModel.load(resource(name), false);
            List<String> ops = fused.graph().stepLabels().stream().map(l -> l.split(" ")[0]).distinct().toList();
            // every layer is one (quantized) encoder layer node; the shape arithmetic of its reshapes is gone with them
            String layer = name.contains("-q") ? "QuantizedEncoderLayer " : "EncoderLayer ";
            assertEquals(6, fused.graph().stepLabels().stream().filter(l -> l.startsWith(layer)).count(), name + " fused to " + ops);
            assertTrue(!ops.contains("Reshape") && !ops.contains("Concat") && !ops.contains("Linear"), name + " fused to " + ops);
            assertTrue(!ops.contains("MatMulIntegerToFloat") && !ops.contains("DynamicQuantizeLinear") && !ops.contains("MatMulInteger"),
                    name + " fused to " + ops);
            assertTrue(!ops.contains("Softmax") && !ops.contains("Erf") && !ops.contains("ReduceMean"), name + " still has " + ops);
            int b = 2, t = 9;
            long[] ids = new long[b * t], mask = new long[b * t];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1000 + (i * 7919) % 20000;
                mask[i] = i < t || i % t < 5 ? 1 : 0; // the second row is padded after 5 tokens
            }
            Map<String, Value> in = Map.of("input_ids", Value.longs(DataType.INT64, ids, b, t), "attention_mask", Value.longs(DataType.INT64, mask, b, t),
                    "token_type_ids", Value.longs(DataType.INT64, new long[b * t], b, t));
            float[] x = fused.runValues(in)[0].f, y = plain.runValues(in)[0].f;
            for (int i = 0; i < x.length; i++) assertEquals(y[i], x[i], 1e-4, name + " element " + i);
            // the encoder layers write over their dead inputs: a second run must see every constant and input intact
            assertArrayEquals(x, fused.runValues(in)[0].f, 0f, name + ": a second run differs");
        }
    }

    @Test
    void exportedBertFolderMatchesTheOnnxModel() throws Exception {
        Path dir = tmp.resolve("minilm-hf");
        OnnxEncoder onnx = new OnnxEncoder(fused("all-minilm-l6-v2.onnx"));
        OnnxEncoder.exportBertFolder(resource("all-minilm-l6-v2.onnx"), dir);
        assertEquals(512, onnx.maxPositions());
        long[] ids = {101, 1037, 2158, 2003, 5983, 2833, 1012, 102, 101, 7592, 102, 0, 0, 0, 0, 0};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
        Tensor i = Tensor.wrapLongs(ids, 2, 8), m = Tensor.wrapLongs(mask, 2, 8);
        float[] expected = onnx.encode(i, m, null).toFloatArray();
        try (var auto = dev.kindling.models.AutoModel.fromPretrained(dir, dev.kindling.tensor.DType.FLOAT32)) {
            var bert = auto.as(dev.kindling.models.BertModel.class);
            assertEquals(6, bert.config.numHiddenLayers());
            assertEquals(12, bert.config.numAttentionHeads());
            float[] actual = bert.encode(i, m, null).toFloatArray();
            for (int k = 0; k < expected.length; k++)
                if (mask[k / 384] != 0) assertEquals(expected[k], actual[k], 2e-4, "element " + k);
        }
    }

    static void assertMatches(String modelName, String tokenizerName, double minCosine) throws Exception {
        Path modelFile = resource(modelName);
        HuggingFaceTokenizer tok = HuggingFaceTokenizer.load(resource(tokenizerName));
        List<Encoding> enc = tok.encodeBatch(SENTENCES, EncodeOptions.DEFAULT.withMaxLength(128).withTruncation(true).withPadding(EncodeOptions.Padding.LONGEST));
        int b = enc.size(), t = enc.get(0).ids().length;
        long[] ids = new long[b * t], mask = new long[b * t], types = new long[b * t];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = enc.get(i).ids()[j];
                mask[i * t + j] = enc.get(i).attentionMask()[j];
            }
        OnnxModel ours = fused(modelName);
        Tensor hidden = ours.run(Map.of("input_ids", Tensor.wrapLongs(ids, b, t), "attention_mask", Tensor.wrapLongs(mask, b, t),
                "token_type_ids", Tensor.wrapLongs(types, b, t))).values().iterator().next();
        assertEquals(List.of(b, t, 384), List.of(hidden.size(0), hidden.size(1), hidden.size(2)));
        float[] h = hidden.toFloatArray();
        float[][][] ref;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (var opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession s = env.createSession(modelFile.toString(), opts);
                 OnnxTensor i1 = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(ids), new long[] {b, t});
                 OnnxTensor i2 = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(mask), new long[] {b, t});
                 OnnxTensor i3 = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(types), new long[] {b, t});
                 OrtSession.Result r = s.run(Map.of("input_ids", i1, "attention_mask", i2, "token_type_ids", i3))) {
                ref = (float[][][]) r.get(0).getValue();
            }
        }
        double worst = 1;
        for (int i = 0; i < b; i++) {
            double[] x = new double[384], y = new double[384];
            int count = 0;
            for (int j = 0; j < t; j++) {
                if (mask[i * t + j] == 0) continue;
                count++;
                for (int d = 0; d < 384; d++) {
                    x[d] += h[(i * t + j) * 384 + d];
                    y[d] += ref[i][j][d];
                }
            }
            assertTrue(count > 0);
            double dot = 0, nx = 0, ny = 0;
            for (int d = 0; d < 384; d++) {
                dot += x[d] * y[d];
                nx += x[d] * x[d];
                ny += y[d] * y[d];
            }
            double cos = dot / Math.sqrt(nx * ny);
            worst = Math.min(worst, cos);
            assertTrue(cos >= minCosine, modelName + ": sentence " + i + " '" + SENTENCES.get(i) + "' has cosine " + cos + " < " + minCosine);
        }
        System.out.println(modelName + ": worst cosine to ONNX Runtime over " + b + " sentences: " + worst);
    }
}
