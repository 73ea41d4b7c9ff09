package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsFile;
import dev.kindling.io.StateDicts;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Half-precision and quantized GPT/BERT folders: ModelQuantizer writes them, AutoModel runs them close to FP32. */
class QuantizedModelsTest {
    /** n_embd 64 so that 32-wide groups and 4-bit blocks divide some rows and not others (vocab 37, c_attn 192). */
    static final GptConfig GPT = new GptConfig(37, 16, 2, 4, 64, 0.0, true);
    static final Path TINY_BERT = Path.of("src/test/resources/golden/tiny-bert");

    static Path gptFolder(Path dir) throws Exception {
        var model = new Gpt(GPT, new Generator(7));
        Files.createDirectories(dir);
        StateDicts.save(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        Files.writeString(dir.resolve("config.json"), Json.write(GPT.toHuggingFace()));
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        return dir;
    }

    /** Cosine similarity of two flattened outputs. */
    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static float[] logits(Path dir, DType dtype, Tensor ids) throws Exception {
        try (var auto = AutoModel.fromPretrained(dir, dtype); var noGrad = Grad.disabled()) {
            return auto.as(Gpt.class).forward(ids).toFloatArray();
        }
    }

    @ParameterizedTest(name = "bits={0} group={1}")
    @CsvSource({"8, 0, 0.9999", "8, 32, 0.9999", "4, 32, 0.99", "4, 64, 0.99"})
    void quantizedGptRunsCloseToFp32AndCachedDecodingMatches(int bits, int group, double minCosine, @TempDir Path tmp) throws Exception {
        Path fp32 = gptFolder(tmp.resolve("fp32")), q = tmp.resolve("q");
        var result = ModelQuantizer.quantize(fp32, q, bits, group);
        assertEquals(1 + 4 * GPT.nLayer(), result.matrices()); // wte + four Conv1D per block
        assertTrue(result.bytesAfter() < result.bytesBefore() / (bits == 8 ? 3.0 : 5.0), result.toString());
        assertTrue(Files.isRegularFile(q.resolve("tokenizer.json")));
        try (var f = SafetensorsFile.open(q.resolve("model.safetensors"))) {
            var info = f.info("transformer.h.0.attn.c_attn.weight");
            assertEquals(bits == 8 ? DType.INT8 : DType.UINT8, info.dtype());
            assertEquals(3 * GPT.nEmbd(), info.shape()[0], "stored [out, in]");
            assertEquals(DType.FLOAT32, f.info("transformer.wpe.weight").dtype());
        }
        Tensor ids = Tensor.randint(new Generator(8), 0, GPT.vocabSize(), 2, 9);
        float[] ref = logits(fp32, DType.FLOAT32, ids), got = logits(q, DType.FLOAT32, ids);
        double cos = cosine(ref, got);
        assertTrue(cos >= minCosine && cos < 1, "cosine " + cos);
        try (var auto = AutoModel.fromPretrained(q, DType.FLOAT32); var noGrad = Grad.disabled()) {
            Gpt model = auto.as(Gpt.class);
            assertTrue(model.parameters().stream().noneMatch(Tensor::requiresGrad));
            var cache = new KVCache(GPT, 2, 9);
            model.forward(ids.narrow(1, 0, 5).contiguous(), cache);
            for (int t = 5; t < 9; t++) {
                float[] step = model.forward(ids.narrow(1, t, 1).contiguous(), cache).toFloatArray();
                float[] full = Tensor.wrap(got, 2, 9, GPT.vocabSize()).narrow(1, t, 1).contiguous().toFloatArray();
                for (int i = 0; i < step.length; i++) assertEquals(full[i], step[i], 1e-4 * (1 + Math.abs(full[i])), "t=" + t + " at " + i);
            }
        }
    }

    @Test
    void bf16GptMatchesFp32Closely(@TempDir Path tmp) throws Exception {
        Path dir = gptFolder(tmp);
        Tensor ids = Tensor.randint(new Generator(9), 0, GPT.vocabSize(), 1, 7);
        double cos = cosine(logits(dir, DType.FLOAT32, ids), logits(dir, DType.BF16, ids));
        assertTrue(cos > 0.9999, "cosine " + cos);
    }

    @ParameterizedTest(name = "bits={0}")
    @CsvSource({"8, 0.9999", "4, 0.99"})
    void quantizedBertHiddenStatesStayClose(int bits, double minCosine, @TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q");
        var result = ModelQuantizer.quantize(TINY_BERT, q, bits, 0);
        assertEquals(1 + 6 * 2, result.matrices()); // word embeddings + six Linear weights in each of 2 layers
        Tensor ids = Tensor.wrapLongs(new long[] {2, 5, 9, 33, 3, 1, 7, 12}, 2, 4);
        float[] ref, got;
        try (var auto = AutoModel.fromPretrained(TINY_BERT, DType.FLOAT32); var noGrad = Grad.disabled()) {
            ref = auto.as(BertModel.class).forward(ids).toFloatArray();
        }
        try (var auto = AutoModel.fromPretrained(q, DType.BF16); var noGrad = Grad.disabled()) {
            BertModel bert = auto.as(BertModel.class);
            assertEquals(DType.INT8, bert.weightDType());
            got = bert.forward(ids).toFloatArray();
        }
        double cos = cosine(ref, got);
        assertTrue(cos >= minCosine && cos < 1, "cosine " + cos);
    }

    @Test
    void badRequestsAndFilesAreNamed(@TempDir Path tmp) throws Exception {
        Path fp32 = gptFolder(tmp.resolve("fp32"));
        var e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, tmp.resolve("a"), 5, 0));
        assertTrue(e.getMessage().contains("bits must be 4 or 8, got 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, tmp.resolve("a"), 4, 48));
        assertTrue(e.getMessage().contains("group_size must be 0 (per row) or a positive multiple of 32, got 48"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(fp32, fp32, 8, 0));
        assertTrue(e.getMessage().contains("is the input folder"), e.getMessage());
        Path q = tmp.resolve("q");
        ModelQuantizer.quantize(fp32, q, 8, 32);
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(q, tmp.resolve("b"), 4, 32));
        assertTrue(e.getMessage().contains("is already quantized"), e.getMessage());
        // a config that claims another group size than the scales were written with
        String cfg = Files.readString(q.resolve("config.json")).replace("\"group_size\":32", "\"group_size\":64");
        assertTrue(cfg.contains("\"group_size\":64"), cfg);
        Files.writeString(q.resolve("config.json"), cfg);
        e = assertThrows(IllegalArgumentException.class, () -> AutoModel.fromPretrained(q, DType.FLOAT32));
        assertTrue(e.getMessage().contains("scales 'transformer.wte.weight_scale' are F32 [37, 2] but group size 64 needs F32 [37, 1]"),
                e.getMessage());
    }
}
