package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.inference.Sampler;
import dev.kindling.inference.TextGeneration;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptTest {
    static final GptConfig TINY = new GptConfig(13, 16, 2, 2, 8, 0.0, true);

    private static Tensor ids(Generator g, int b, int t) {
        return Tensor.randint(g, 0, TINY.vocabSize(), b, t);
    }

    private static void close(float[] a, float[] b, double tol) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], tol * (1 + Math.abs(a[i])), "element " + i);
    }

    @Test
    void weightNamesFollowHuggingFaceGpt2() {
        var model = new Gpt(TINY, new Generator(1));
        var names = model.namedParameters().keySet();
        assertTrue(names.containsAll(List.of("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias", "transformer.h.1.mlp.c_fc.weight",
                "transformer.h.1.mlp.c_proj.bias", "transformer.ln_f.bias")), names.toString());
        assertArrayEquals(new int[] {8, 24}, model.namedParameters().get("transformer.h.0.attn.c_attn.weight").shape(), "Conv1D is [in, out]");
    }

    @Test
    void cachedDecodingGivesTheSameLogitsAsAFullRecompute() {
        var g = new Generator(2);
        var model = new Gpt(TINY, new Generator(3));
        Tensor seq = ids(g, 2, 10);
        try (var noGrad = Grad.disabled()) {
            Tensor full = model.forward(seq);                                   // (2, 10, V)
            var cache = new KVCache(TINY, 2, 10);
            Tensor prefill = model.forward(seq.narrow(1, 0, 4).contiguous(), cache);
            close(full.narrow(1, 0, 4).toFloatArray(), prefill.toFloatArray(), 1e-5);
            for (int t = 4; t < 10; t++) {
                Tensor step = model.forward(seq.narrow(1, t, 1).contiguous(), cache);
                close(full.narrow(1, t, 1).toFloatArray(), step.toFloatArray(), 1e-5);
            }
            assertEquals(10, cache.length());
        }
    }

    /** The last position's logits alone: a prompt with and without a cache, then single tokens (the decoder's path). */
    @Test
    void nextTokenLogitsAreTheLastPositionOfTheFullForward() {
        var g = new Generator(4);
        var model = new Gpt(TINY, new Generator(3));
        Tensor seq = ids(g, 2, 9);
        int v = TINY.vocabSize();
        try (var noGrad = Grad.disabled()) {
            Tensor full = model.forward(seq);                                   // (2, 9, V)
            Tensor noCache = model.nextTokenLogits(seq, null);
            assertArrayEquals(new int[] {2, v}, noCache.shape());
            close(full.select(1, 8).contiguous().toFloatArray(), noCache.toFloatArray(), 1e-5);
            var cache = new KVCache(TINY, 2, 9);
            Tensor prompt = model.nextTokenLogits(seq.narrow(1, 0, 5).contiguous(), cache);
            assertArrayEquals(new int[] {2, v}, prompt.shape());
            close(full.select(1, 4).contiguous().toFloatArray(), prompt.toFloatArray(), 1e-5);
            for (int t = 5; t < 9; t++) {
                Tensor next = model.nextTokenLogits(seq.narrow(1, t, 1).contiguous(), cache);
                assertArrayEquals(new int[] {2, v}, next.shape());
                close(full.select(1, t).contiguous().toFloatArray(), next.toFloatArray(), 1e-5);
            }
            var one = new KVCache(TINY, 1, 9); // batch 1: the one-position steps take GptDecoder's path
            model.nextTokenLogits(seq.narrow(0, 0, 1).narrow(1, 0, 3).contiguous(), one);
            Tensor decoded = model.nextTokenLogits(seq.narrow(0, 0, 1).narrow(1, 3, 1).contiguous(), one);
            assertArrayEquals(new int[] {1, v}, decoded.shape());
            close(full.select(0, 0).select(0, 3).toFloatArray(), decoded.toFloatArray(), 1e-5);
            Tensor tooLong = ids(g, 1, 13); // 4 cached + 13 > block size 16
            var e = assertThrows(IllegalArgumentException.class, () -> model.nextTokenLogits(tooLong, one));
            assertTrue(e.getMessage().contains("block size"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> model.nextTokenLogits(Tensor.wrapLongs(new long[0], 1, 0), null));
        }
    }

    @Test
    void batchedStepEqualsDecodingEachSequenceAloneAsRowsJoinAndLeave() {
        var model = new Gpt(TINY, new Generator(3));
        var g = new Generator(7);
        int[] promptLengths = {3, 6, 1, 4};
        int steps = 5;
        long[][] seqs = new long[promptLengths.length][];
        for (int s = 0; s < seqs.length; s++) seqs[s] = ids(g, 1, promptLengths[s] + steps).contiguous().toLongArray();
        try (var noGrad = Grad.disabled()) {
            // the oracle: each sequence alone, token by token after its prefill
            float[][][] alone = new float[seqs.length][steps][];
            for (int s = 0; s < seqs.length; s++) {
                var cache = new KVCache(TINY, 1, TINY.blockSize());
                int p = promptLengths[s];
                model.forward(Tensor.wrapLongs(java.util.Arrays.copyOf(seqs[s], p), 1, p), cache);
                for (int t = 0; t < steps; t++)
                    alone[s][t] = model.forward(Tensor.wrapLongs(new long[] {seqs[s][p + t]}, 1, 1), cache).toFloatArray();
            }
            // batched: sequences 0..2 start together, 1 leaves after 2 steps, 3 joins at step 2
            KVCache[] caches = new KVCache[seqs.length];
            int[] done = new int[seqs.length];
            for (int s = 0; s < seqs.length; s++) {
                caches[s] = new KVCache(TINY, 1, TINY.blockSize());
                int p = promptLengths[s];
                model.forward(Tensor.wrapLongs(java.util.Arrays.copyOf(seqs[s], p), 1, p), caches[s]);
            }
            for (int round = 0; round < steps + 2; round++) {
                List<Integer> rows = new java.util.ArrayList<>();
                for (int s = 0; s < seqs.length; s++) {
                    boolean active = s == 3 ? round >= 2 : s == 1 ? round < 2 : true;
                    if (active && done[s] < steps) rows.add(s);
                }
                if (rows.isEmpty()) continue;
                long[] next = new long[rows.size()];
                KVCache[] cs = new KVCache[rows.size()];
                for (int r = 0; r < rows.size(); r++) {
                    int s = rows.get(r);
                    next[r] = seqs[s][promptLengths[s] + done[s]];
                    cs[r] = caches[s];
                }
                Tensor logits = model.step(next, cs);                                 // (rows, V)
                assertArrayEquals(new int[] {rows.size(), TINY.vocabSize()}, logits.shape());
                float[] l = logits.toFloatArray();
                for (int r = 0; r < rows.size(); r++) {
                    int s = rows.get(r);
                    float[] row = java.util.Arrays.copyOfRange(l, r * TINY.vocabSize(), (r + 1) * TINY.vocabSize());
                    close(alone[s][done[s]], row, 1e-5);
                    done[s]++;
                }
            }
            assertEquals(2, done[1], "sequence 1 left after two steps");
            assertEquals(steps, done[3]);
        }
    }

    @Test
    void batchedStepRejectsMismatchedInputsNamingTheRow() {
        var model = new Gpt(TINY, new Generator(3));
        var c = new KVCache(TINY, 1, 2);
        try (var noGrad = Grad.disabled()) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.step(new long[] {1, 2}, new KVCache[] {c}))
                    .getMessage().contains("2 ids but 1 caches"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.step(new long[] {1, 2}, new KVCache[] {c, c}))
                    .getMessage().contains("row 1 reuses"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.step(new long[] {1}, new KVCache[] {new KVCache(TINY, 2, 4)}))
                    .getMessage().contains("batch 2"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.step(new long[] {13}, new KVCache[] {c}))
                    .getMessage().contains("id 13 of row 0"));
            model.step(new long[] {1}, new KVCache[] {c});
            model.step(new long[] {1}, new KVCache[] {c});
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.step(new long[] {1}, new KVCache[] {c}))
                    .getMessage().contains("capacity 2 is full"));
        }
    }

    @Test
    void savedFolderLoadsWithTheSameOutputsAndHuggingFaceExtrasAreIgnored(@TempDir Path dir) throws Exception {
        var model = new Gpt(TINY, new Generator(4));
        Map<String, Tensor> sd = new LinkedHashMap<>();
        // as transformers writes GPT2Model: no "transformer." prefix, plus causal-mask buffers and the tied head
        for (var e : model.stateDict().entrySet()) sd.put(e.getKey().substring("transformer.".length()), e.getValue());
        sd.put("h.0.attn.bias", Tensor.ones(1, 1, 16, 16));
        sd.put("lm_head.weight", model.stateDict().get("transformer.wte.weight"));
        StateDicts.save(dir.resolve("model.safetensors"), sd, Map.of("format", "pt"));
        Files.writeString(dir.resolve("config.json"), Json.write(TINY.toHuggingFace()));
        var loaded = GptLoader.load(dir);
        Tensor x = ids(new Generator(5), 1, 6);
        try (var noGrad = Grad.disabled()) {
            close(model.forward(x).toFloatArray(), loaded.forward(x).toFloatArray(), 1e-6);
        }
    }

    @Test
    void loaderReportsWhatIsWrong(@TempDir Path dir) throws Exception {
        var e = assertThrows(java.io.IOException.class, () -> GptLoader.load(dir));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\"}");
        Files.writeString(dir.resolve("model.safetensors"), "");
        e = assertThrows(java.io.IOException.class, () -> GptLoader.load(dir));
        assertTrue(e.getMessage().contains("bert"), e.getMessage());
    }

    @Test
    void configRejectsIndivisibleHeads() {
        var e = assertThrows(IllegalArgumentException.class, () -> new GptConfig(10, 8, 1, 5, 384, 0, true));
        assertEquals("n_embd 384 is not divisible by n_head 5", e.getMessage());
    }

    @Test
    void trainingLowersTheLossOnARepeatingSequence() {
        var model = new Gpt(TINY, new Generator(6));
        var opt = new AdamW(model.parameters(), 1e-2, 0.0);
        long[] pattern = new long[17];
        for (int i = 0; i < pattern.length; i++) pattern[i] = (i * 5) % TINY.vocabSize();
        Tensor all = Tensor.wrapLongs(pattern, 1, 17);
        Tensor x = all.narrow(1, 0, 16).contiguous(), y = all.narrow(1, 1, 16).contiguous();
        float first = 0, last = 0;
        for (int it = 0; it < 60; it++) {
            Tensor logits = model.forward(x);
            Tensor loss = Functional.crossEntropy(logits.reshape(-1, TINY.vocabSize()), y.reshape(-1));
            opt.zeroGrad();
            loss.backward();
            opt.step();
            if (it == 0) first = loss.item();
            last = loss.item();
        }
        assertTrue(last < first / 3, "loss " + first + " -> " + last);
    }

    /**
     * Training steps whose activations are recycled for the next step (a backward that frees the graph) equal the
     * same steps with every activation kept (a retained graph recycles nothing): losses, logits read after later
     * steps, and weights. Sizes are chosen so every activation is pooled (at least 4096 floats).
     */
    @Test
    void recycledActivationsGiveTheSameTrainingSteps() {
        var cfg = new GptConfig(67, 32, 2, 2, 32, 0.0, true); // logits [4, 32, 67] too are pooled sizes
        java.util.function.Function<Boolean, List<float[]>> run = retain -> {
            var g = new Generator(11);
            var model = new Gpt(cfg, g);
            var opt = new AdamW(model.parameters(), 1e-2, 0.1);
            List<float[]> seen = new java.util.ArrayList<>();
            List<Tensor> logitsKept = new java.util.ArrayList<>();
            for (int it = 0; it < 3; it++) {
                Tensor x = Tensor.randint(g, 0, cfg.vocabSize(), 4, 32), y = Tensor.randint(g, 0, cfg.vocabSize(), 4, 32);
                Tensor logits = model.forward(x);
                logitsKept.add(logits);
                Tensor loss = Functional.crossEntropy(logits.reshape(-1, cfg.vocabSize()), y.reshape(-1));
                opt.zeroGrad();
                loss.backward(null, retain);
                opt.step();
                seen.add(new float[] {loss.item()});
            }
            for (Tensor l : logitsKept) seen.add(l.toFloatArray());
            for (Tensor p : model.parameters()) seen.add(p.toFloatArray());
            return seen;
        };
        List<float[]> kept = run.apply(true), recycled = run.apply(false);
        assertEquals(kept.size(), recycled.size());
        for (int i = 0; i < kept.size(); i++) assertArrayEquals(kept.get(i), recycled.get(i), "value " + i);
    }

    @Test
    void greedyGenerationIsDeterministicAndRespectsTheContextRule() {
        var model = new Gpt(TINY, new Generator(7));
        int[][] prompts = {{1, 2, 3}, {4, 5, 6}};
        int[][] a = TextGeneration.generate(model, prompts, 30, Sampler.greedy(), -1, TextGeneration.Overflow.ERROR, null);
        int[][] b = TextGeneration.generate(model, new int[][] {{1, 2, 3}}, 30, Sampler.greedy(), -1, TextGeneration.Overflow.ERROR, null);
        assertEquals(30, a[0].length, "generation past the 16-token context slides the window");
        assertArrayEquals(a[0], b[0], "a row decodes the same alone and in a batch");
        int[][] tooLong = {new int[20]};
        var e = assertThrows(IllegalArgumentException.class,
                () -> TextGeneration.generate(model, tooLong, 1, Sampler.greedy(), -1, TextGeneration.Overflow.ERROR, null));
        assertTrue(e.getMessage().contains("20 tokens") && e.getMessage().contains("16"), e.getMessage());
        assertEquals(1, TextGeneration.generate(model, tooLong, 1, Sampler.greedy(), -1, TextGeneration.Overflow.TRUNCATE_LEFT, null)[0].length);
        int[][] stopped = TextGeneration.generate(model, prompts, 30, Sampler.greedy(), a[0][0], TextGeneration.Overflow.ERROR, null);
        assertEquals(1, stopped[0].length, "stops at end-of-text");
    }

    @Test
    void samplerFiltersAndIsSeeded() {
        float[] logits = {0f, 3f, 1f, 2.9f, -5f};
        var topK = new Sampler(1.0, 2, 1.0, new Generator(1));
        for (int i = 0; i < 200; i++) {
            int t = topK.sample(logits, 0, 5);
            assertTrue(t == 1 || t == 3, "top-2 keeps ids 1 and 3, got " + t);
        }
        var topP = new Sampler(1.0, 0, 0.01, new Generator(1));
        for (int i = 0; i < 50; i++) assertEquals(1, topP.sample(logits, 0, 5));
        int[] s1 = new int[50], s2 = new int[50];
        var a = new Sampler(1.0, 0, 1.0, new Generator(9));
        var b = new Sampler(1.0, 0, 1.0, new Generator(9));
        for (int i = 0; i < 50; i++) {
            s1[i] = a.sample(logits, 0, 5);
            s2[i] = b.sample(logits, 0, 5);
        }
        assertArrayEquals(s1, s2);
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0, 1, new Generator(0)));
    }
}
