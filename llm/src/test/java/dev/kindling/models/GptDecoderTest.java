package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.kernels.Parallel;
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

/**
 * Batch-1 decoding ({@link GptDecoder}) against the full forward without a cache, for every weight form it reads,
 * on one thread and on a team of two.
 */
class GptDecoderTest {
    /** 96 wide, 3 heads of 32, vocab 37 (not a multiple of four rows), c_attn 288 rows, c_fc 384. */
    static final GptConfig CFG = new GptConfig(37, 20, 2, 3, 96, 0.0, true);
    static final int T = 12, PROMPT = 3;

    private static Path folder(Path dir, GptConfig cfg) throws Exception {
        var model = new Gpt(cfg, new Generator(11));
        Files.createDirectories(dir);
        StateDicts.save(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        Files.writeString(dir.resolve("config.json"), Json.write(cfg.toHuggingFace()));
        return dir;
    }

    /** Prefills PROMPT tokens, then decodes the rest one at a time; each step's logits must equal the full forward's. */
    private static void decodesLikeTheFullForward(Gpt model, GptConfig cfg, double tol) {
        Tensor seq = Tensor.randint(new Generator(5), 0, cfg.vocabSize(), 1, T);
        try (var noGrad = Grad.disabled()) {
            float[] full = model.forward(seq).toFloatArray();                // (1, T, V)
            var cache = new KVCache(cfg, 1, T);
            model.forward(seq.narrow(1, 0, PROMPT).contiguous(), cache);
            for (int t = PROMPT; t < T; t++) {
                float[] step = t % 2 == 0 ? model.forward(seq.narrow(1, t, 1).contiguous(), cache).toFloatArray()
                        : model.step(new long[] {seq.toLongArray()[t]}, new KVCache[] {cache}).toFloatArray();
                assertEquals(cfg.vocabSize(), step.length);
                for (int i = 0; i < step.length; i++) {
                    float e = full[t * cfg.vocabSize() + i];
                    assertEquals(e, step[i], tol * (1 + Math.abs(e)), "position " + t + ", logit " + i);
                }
            }
            assertEquals(T, cache.length());
        }
        assertNotNull(model.decoder, "the steps took the batch-1 decoder");
    }

    @ParameterizedTest(name = "{0} weights, {1} threads")
    @CsvSource({"trainable, 1", "trainable, 2", "trainable, 3", "fp32, 1", "fp32, 2", "bf16, 2", "int8, 1", "int8, 2", "int4, 2"})
    void decodingMatchesTheFullForward(String form, int threads, @TempDir Path tmp) throws Exception {
        int saved = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            if (form.equals("trainable")) {
                decodesLikeTheFullForward(new Gpt(CFG, new Generator(3)), CFG, 1e-5);
                return;
            }
            Path dir = folder(tmp.resolve("fp32"), CFG);
            if (form.startsWith("int")) {
                int bits = form.equals("int8") ? 8 : 4;
                ModelQuantizer.quantize(dir, tmp.resolve("q"), bits, bits == 8 ? 0 : 32);
                dir = tmp.resolve("q");
            }
            try (var auto = AutoModel.fromPretrained(dir, form.equals("bf16") ? DType.BF16 : DType.FLOAT32)) {
                decodesLikeTheFullForward(auto.as(Gpt.class), CFG, form.equals("fp32") ? 1e-5 : 1e-4);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void withoutBiasesTooOnATeam() {
        var cfg = new GptConfig(37, 20, 1, 2, 64, 0.0, false);
        int saved = Parallel.threads();
        Parallel.setThreads(2);
        try {
            decodesLikeTheFullForward(new Gpt(cfg, new Generator(4)), cfg, 1e-5);
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void recordingGradientsThroughTrainableWeightsTakesTheGeneralPath() {
        var model = new Gpt(CFG, new Generator(3));
        var cache = new KVCache(CFG, 1, 4);
        Tensor logits = model.forward(Tensor.wrapLongs(new long[] {1}, 1, 1), cache);
        assertTrue(logits.requiresGrad());
        assertNull(model.decoder);
    }

    @Test
    void aFullCacheIsReportedWithItsCapacity() {
        var model = new Gpt(CFG, new Generator(3));
        var cache = new KVCache(CFG, 1, 2);
        try (var noGrad = Grad.disabled()) {
            model.forward(Tensor.wrapLongs(new long[] {1}, 1, 1), cache);
            model.forward(Tensor.wrapLongs(new long[] {2}, 1, 1), cache);
            var e = assertThrows(IllegalStateException.class, () -> model.forward(Tensor.wrapLongs(new long[] {3}, 1, 1), cache));
            assertEquals("KVCache: 3 positions exceed the capacity 2", e.getMessage());
            assertEquals(2, cache.length());
            var bad = assertThrows(IndexOutOfBoundsException.class, () -> model.forward(Tensor.wrapLongs(new long[] {37}, 1, 1), new KVCache(CFG, 1, 2)));
            assertTrue(bad.getMessage().contains("id 37"), bad.getMessage());
        }
    }
}
