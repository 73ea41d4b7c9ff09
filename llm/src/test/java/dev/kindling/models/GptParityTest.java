package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model-level parity with PyTorch, as llm.c's test_gpt2: a tiny GPT written in PyTorch the way {@link Gpt} is
 * built (tools/golden/gpt_fixture.py) gave logits, loss, every parameter's gradient and the losses and weights
 * of 5 AdamW steps for one batch; Kindling's Gpt, loaded with the same weights, must reproduce them.
 *
 * <p>PyTorch ran in float64, so the fixture is exact up to one float32 rounding. Tolerances (relative, with an
 * absolute floor of 1e-6 for values near 0): logits and loss 1e-5, gradients, step losses and weights 1e-4,
 * since a backward pass and AdamW's division by sqrt(v) compound rounding. The generator checks that PyTorch's own
 * float32 run stays within them.
 */
class GptParityTest {
    static final double ATOL = 1e-6;

    private static Map<String, Tensor> fixture;
    private static GptConfig config;
    private static Map<String, Object> optimizer;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void load() throws IOException {
        try (InputStream in = GptParityTest.class.getResourceAsStream("/golden/gpt_tiny.safetensors")) {
            if (in == null) throw new IllegalStateException("test resource golden/gpt_tiny.safetensors is missing");
            // StateDicts reads files and the resource may sit inside a jar: load a temporary copy into the heap.
            Path file = Files.createTempFile("kindling-gpt-golden", ".safetensors");
            try {
                Files.write(file, in.readAllBytes());
                StateDicts.Loaded loaded = StateDicts.load(file);
                fixture = loaded.tensors();
                config = GptConfig.fromHuggingFace((Map<String, Object>) Json.parse(loaded.metadata().get("config")));
                optimizer = (Map<String, Object>) Json.parse(loaded.metadata().get("optimizer"));
            } finally {
                Files.delete(file);
            }
        }
    }

    /** A Gpt with the fixture's initial weights; the seed is irrelevant since every parameter is overwritten. */
    private static Gpt model() {
        Gpt model = new Gpt(config, new Generator(0));
        model.loadStateDict(StateDicts.withPrefix(fixture, "model."));
        return model;
    }

    private static Tensor loss(Gpt model) {
        Tensor logits = model.forward(fixture.get("ids"));                          // (B, T, V)
        return Functional.crossEntropy(logits.reshape(-1, config.vocabSize()), fixture.get("targets").reshape(-1));
    }

    @Test
    void fixtureDescribesTheTinyModel() {
        assertEquals(new GptConfig(11, 8, 2, 2, 8, 0.0, true), config);
        assertArrayEquals(new int[] {2, 8}, fixture.get("ids").shape());
        assertEquals(28, StateDicts.withPrefix(fixture, "model.").size());
    }

    @Test
    void logitsLossAndEveryGradientMatchPyTorch() {
        Gpt model = model();
        Tensor logits = model.forward(fixture.get("ids"));
        assertClose("logits", fixture.get("logits"), logits, 1e-5);
        Tensor loss = Functional.crossEntropy(logits.reshape(-1, config.vocabSize()), fixture.get("targets").reshape(-1));
        assertClose("loss", fixture.get("loss"), loss, 1e-5);
        loss.backward();
        Map<String, Tensor> params = model.namedParameters();
        assertEquals(StateDicts.withPrefix(fixture, "grad.").keySet(), params.keySet(), "parameters with a PyTorch gradient");
        for (var e : params.entrySet()) {
            assertNotNull(e.getValue().grad(), e.getKey() + " got no gradient");
            assertClose("grad." + e.getKey(), fixture.get("grad." + e.getKey()), e.getValue().grad(), 1e-4);
        }
    }

    /** nanoGPT's configure_optimizers, as `kindling train gpt` does: decay for matrices (dim >= 2) only. */
    @Test
    void fiveAdamWStepsMatchPyTorch() {
        Gpt model = model();
        double lr = num("lr"), weightDecay = num("weight_decay");
        List<?> betas = (List<?>) optimizer.get("betas");
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
        var adamW = new AdamW(List.of(new ParamGroup(decay, lr, weightDecay), new ParamGroup(noDecay, lr, 0)),
                ((Number) betas.get(0)).doubleValue(), ((Number) betas.get(1)).doubleValue(), num("eps"));

        int steps = (int) num("steps");
        float[] losses = new float[steps];
        for (int step = 0; step < steps; step++) {
            adamW.zeroGrad();
            Tensor loss = loss(model);
            loss.backward();
            losses[step] = loss.item();
            adamW.step();
        }
        assertClose("losses", fixture.get("losses"), Tensor.wrap(losses, steps), 1e-4);

        for (var e : model.namedParameters().entrySet()) {
            Tensor expected = fixture.get("after." + e.getKey()), actual = e.getValue();
            if (e.getKey().endsWith(".attn.c_attn.bias")) {
                // The key third is left out: its gradient is 0 up to rounding noise of either sign (softmax ignores
                // a shift shared by all keys), and AdamW turns that sign into a step of +-lr. See gpt_fixture.py.
                int c = config.nEmbd();
                expected = Tensor.cat(List.of(expected.narrow(0, 0, c), expected.narrow(0, 2 * c, c)), 0);
                actual = Tensor.cat(List.of(actual.narrow(0, 0, c), actual.narrow(0, 2 * c, c)), 0);
            }
            assertClose("after." + e.getKey(), expected, actual, 1e-4);
        }
    }

    private static double num(String key) {
        if (!(optimizer.get(key) instanceof Number n)) throw new IllegalStateException("fixture optimizer metadata has no number '" + key + "'");
        return n.doubleValue();
    }

    /** Same shape, and every element within ATOL + rtol * |expected|. */
    private static void assertClose(String what, Tensor expected, Tensor actual, double rtol) {
        assertNotNull(expected, what + " is missing from the fixture");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++)
            if (!(Math.abs((double) a[i] - e[i]) <= ATOL + rtol * Math.abs(e[i])))
                fail(what + ": element " + i + " of shape " + Arrays.toString(expected.shape()) + " is " + a[i] + ", PyTorch has " + e[i]
                        + " (difference " + Math.abs((double) a[i] - e[i]) + ", tolerance " + (ATOL + rtol * Math.abs(e[i])) + ")");
    }
}
