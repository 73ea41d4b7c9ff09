package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.io.SafetensorsFile;
import dev.kindling.models.ModelQuantizer.FeedForward;
import dev.kindling.models.ModelQuantizer.Options;
import dev.kindling.models.ModelQuantizer.Rounding;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kindling quantize}'s 4-bit defaults: GPTQ on calibration text, feed-forward matrices of encoders in int8. */
class GptqQuantizationTest {
    /** The tiny BERT of the golden folder with a WordPiece tokenizer over its first 13 ids. */
    static Path tinyBert(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(QuantizedModelsTest.TINY_BERT.resolve(f), dir.resolve(f));
        String vocab = "{\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"un\": 4, \"##aff\": 5, \"##able\": 6, "
                + "\"a\": 7, \"cafe\": 8, \",\": 9, \"!\": 10, \"##s\": 11, \"run\": 12}";
        String special = "{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false, \"special\": true}";
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": ["
                + String.format(special, 0, "[PAD]") + ", " + String.format(special, 1, "[UNK]") + ", "
                + String.format(special, 2, "[CLS]") + ", " + String.format(special, 3, "[SEP]") + "], "
                + "\"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true, "
                + "\"strip_accents\": null, \"lowercase\": true}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                + "\"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]}, "
                + "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", "
                + "\"max_input_chars_per_word\": 10, \"vocab\": " + vocab + "}}");
        return dir;
    }

    private static float[] hidden(Path dir, Tensor ids) throws Exception {
        try (var auto = AutoModel.fromPretrained(dir, DType.FLOAT32); var noGrad = Grad.disabled()) {
            return auto.as(BertModel.class).forward(ids).toFloatArray();
        }
    }

    @Test
    void defaultInt4BertUsesGptqKeepsFeedForwardInInt8AndStaysClose(@TempDir Path tmp) throws Exception {
        Path fp32 = tinyBert(tmp.resolve("fp32")), q = tmp.resolve("q");
        var r = ModelQuantizer.quantize(fp32, q, Options.of(4));
        assertEquals(Rounding.GPTQ, r.rounding());
        assertTrue(r.calibrationTokens() > 1000, "tokens " + r.calibrationTokens()); // the built-in text, mostly [UNK] here
        assertNull(r.note());
        assertEquals(1 + 6 * 2, r.matrices());
        assertEquals(4, r.int8Matrices()); // intermediate.dense and output.dense of each layer
        try (var f = SafetensorsFile.open(q.resolve("model.safetensors"))) {
            assertEquals(DType.INT8, f.info("bert.encoder.layer.1.intermediate.dense.weight").dtype());
            assertEquals(DType.INT8, f.info("bert.encoder.layer.1.output.dense.weight").dtype());
            assertEquals(DType.UINT8, f.info("bert.encoder.layer.1.attention.output.dense.weight").dtype());
            assertEquals(DType.UINT8, f.info("bert.embeddings.word_embeddings.weight").dtype());
        }
        Tensor ids = Tensor.wrapLongs(new long[] {2, 5, 9, 33, 3, 1, 7, 12}, 2, 4);
        double cos = QuantizedModelsTest.cosine(hidden(fp32, ids), hidden(q, ids));
        // measured 0.9986
        assertTrue(cos >= 0.99 && cos < 1, "cosine " + cos);
    }

    @Test
    void aFolderMayMixFloatInt8AndInt4MatricesInOneProjection(@TempDir Path tmp) throws Exception {
        // query int8, key kept FLOAT32, value int4: the fused QKV projection of the inference path runs each part
        Path q = tmp.resolve("q");
        ModelQuantizer.write(QuantizedModelsTest.TINY_BERT, q, new QuantizationConfig(4, 0), java.util.Map.of(),
                name -> name.contains(".key.") ? 0 : name.contains(".query.") ? 8 : 4, Rounding.NEAREST, 0, null);
        try (var f = SafetensorsFile.open(q.resolve("model.safetensors"))) {
            assertEquals(DType.FLOAT32, f.info("bert.encoder.layer.0.attention.self.key.weight").dtype());
            assertEquals(DType.INT8, f.info("bert.encoder.layer.0.attention.self.query.weight").dtype());
        }
        Tensor ids = Tensor.wrapLongs(new long[] {2, 5, 9, 33, 3, 1, 7, 12}, 2, 4);
        float[] fast = hidden(q, ids), layered;
        try (var auto = AutoModel.fromPretrained(q, DType.FLOAT32); var noGrad = Grad.disabled()) {
            BertModel bert = auto.as(BertModel.class);
            bert.train(true); // the layer-by-layer path, one WeightMatrix.linear per matrix
            layered = bert.forward(ids).toFloatArray();
        }
        for (int i = 0; i < fast.length; i++) assertEquals(layered[i], fast[i], 1e-5, "hidden state " + i);
        double cos = QuantizedModelsTest.cosine(hidden(QuantizedModelsTest.TINY_BERT, ids), fast);
        assertTrue(cos >= 0.98 && cos < 1, "cosine " + cos); // measured 0.984 (all int4 per row: 0.990; errors cancel less here)
    }

    @Test
    void gptqLosesLessThanRoundToNearestOnTheTextItWasCalibratedOn(@TempDir Path tmp) throws Exception {
        Path fp32 = tinyBert(tmp.resolve("fp32")), cal = tmp.resolve("cal.txt");
        Files.writeString(cal, "a cafe, unaffable\nrun!\nun cafe runs a cafe\nunaffable cafes, run\n");
        Path gptq = tmp.resolve("gptq"), nearest = tmp.resolve("nearest");
        var r = ModelQuantizer.quantize(fp32, gptq, new Options(4, 32, Rounding.GPTQ, cal, FeedForward.SAME));
        assertEquals(Rounding.GPTQ, r.rounding());
        ModelQuantizer.quantize(fp32, nearest, new Options(4, 32, Rounding.NEAREST, null, FeedForward.SAME));
        // "un cafe runs a cafe" as the tokenizer encodes it: [CLS] un cafe run ##s a cafe [SEP]
        Tensor ids = Tensor.wrapLongs(new long[] {2, 4, 8, 12, 11, 7, 8, 3}, 1, 8);
        float[] ref = hidden(fp32, ids);
        double withGptq = 1 - QuantizedModelsTest.cosine(ref, hidden(gptq, ids)), withNearest = 1 - QuantizedModelsTest.cosine(ref, hidden(nearest, ids));
        // measured 0.0017 and 0.0109
        assertTrue(withGptq < withNearest, "1 - cosine: GPTQ " + withGptq + ", round to nearest " + withNearest);
    }

    @Test
    void gptUsesGptqWithACharacterTokenizerAndStaysInt4(@TempDir Path tmp) throws Exception {
        Path fp32 = QuantizedModelsTest.gptFolder(tmp.resolve("fp32"));
        CharTokenizer.fromText("abcdefghijklmnopqrstuvwxyz .,").save(fp32.resolve("tokenizer.json"));
        Path cal = tmp.resolve("cal.txt"), q = tmp.resolve("q");
        Files.writeString(cal, "the quick brown fox jumps over the lazy dog.\nand then, a long line that the model cuts into windows of sixteen.\n");
        var r = ModelQuantizer.quantize(fp32, q, new Options(4, 32, Rounding.GPTQ, cal, FeedForward.AUTO));
        assertEquals(Rounding.GPTQ, r.rounding());
        assertEquals(0, r.int8Matrices()); // AUTO keeps GPT-2 all int4: its decoding reads every matrix
        Path nearest = tmp.resolve("nearest");
        ModelQuantizer.quantize(fp32, nearest, 4, 32);
        try (var g = SafetensorsFile.open(q.resolve("model.safetensors")); var n = SafetensorsFile.open(nearest.resolve("model.safetensors"))) {
            for (String name : new String[] {"transformer.wte.weight", "transformer.h.1.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.weight"})
                assertTrue(!java.util.Arrays.equals(g.readBytes(name), n.readBytes(name)), name + ": GPTQ wrote the round-to-nearest codes");
        }
        Tensor ids = Tensor.randint(new Generator(8), 0, 29, 2, 9);
        try (var a = AutoModel.fromPretrained(fp32, DType.FLOAT32); var b = AutoModel.fromPretrained(q, DType.FLOAT32); var noGrad = Grad.disabled()) {
            double cos = QuantizedModelsTest.cosine(a.as(Gpt.class).forward(ids).toFloatArray(), b.as(Gpt.class).forward(ids).toFloatArray());
            assertTrue(cos >= 0.99 && cos < 1, "cosine " + cos); // measured 0.9969 (round to nearest: 0.9946)
        }
    }

    @Test
    void aFolderTheBuiltInTextCannotCalibrateFallsBackToNearestAndSaysWhy(@TempDir Path tmp) throws Exception {
        Path fp32 = QuantizedModelsTest.gptFolder(tmp.resolve("fp32")); // tokenizer.json is "{}"
        var r = ModelQuantizer.quantize(fp32, tmp.resolve("q"), Options.of(4));
        assertEquals(Rounding.NEAREST, r.rounding());
        assertTrue(r.note().contains("tokenizer.json cannot be loaded") && r.note().endsWith("; rounded to nearest"), r.note());
        CharTokenizer.fromText("0123456789+=").save(fp32.resolve("tokenizer.json")); // digits only: no English line encodes
        r = ModelQuantizer.quantize(fp32, tmp.resolve("q2"), Options.of(4));
        assertEquals(Rounding.NEAREST, r.rounding());
        assertTrue(r.note().contains("encodes none of the"), r.note());
    }

    @Test
    void malformedOptionsAndCalibrationFilesAreNamed(@TempDir Path tmp) throws Exception {
        Path fp32 = QuantizedModelsTest.gptFolder(tmp.resolve("fp32")), cal = tmp.resolve("cal.txt");
        CharTokenizer.fromText("abc").save(fp32.resolve("tokenizer.json"));
        var e = assertThrows(IllegalArgumentException.class, () -> new Options(4, 32, Rounding.NEAREST, cal, FeedForward.SAME));
        assertTrue(e.getMessage().contains("a calibration file (" + cal + ") is only read by GPTQ rounding, not NEAREST"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Options(8, 0, Rounding.NEAREST, null, FeedForward.INT8));
        assertTrue(e.getMessage().contains("it applies to 4 bits"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Options(4, 40, Rounding.GPTQ, null, FeedForward.AUTO));
        assertTrue(e.getMessage().contains("group_size must be 0 (per row) or a positive multiple of 32, got 40"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Options(4, 32, null, null, FeedForward.AUTO));
        assertTrue(e.getMessage().contains("rounding and feedForward must not be null"), e.getMessage());
        Options gptq = new Options(4, 32, Rounding.GPTQ, cal, FeedForward.AUTO);
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, tmp.resolve("q"), gptq));
        assertTrue(e.getMessage().contains("calibration: " + cal + " is not a file"), e.getMessage());
        Files.writeString(cal, "\n  \n");
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, tmp.resolve("q"), gptq));
        assertTrue(e.getMessage().contains("has no non-empty line"), e.getMessage());
        Files.writeString(cal, "abcab\ncabz\n"); // a user's file must tokenize: 'z' is not in the alphabet
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, tmp.resolve("q"), gptq));
        assertTrue(e.getMessage().startsWith("calibration: line 2 cannot be tokenized"), e.getMessage());
        Path noTokenizer = QuantizedModelsTest.gptFolder(tmp.resolve("bare"));
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        Files.writeString(cal, "abc\n");
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(noTokenizer, tmp.resolve("q"), gptq));
        assertTrue(e.getMessage().contains("has no tokenizer.json"), e.getMessage());
    }
}
