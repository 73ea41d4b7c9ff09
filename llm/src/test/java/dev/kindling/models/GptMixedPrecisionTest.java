package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.nn.Functional;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The GPT under autocast and with activation checkpointing (with dropout on, so the replayed masks matter). */
class GptMixedPrecisionTest {
    static final GptConfig CONFIG = new GptConfig(13, 16, 2, 2, 8, 0.1, true);

    /** Gradients of every parameter after one backward of the mean cross-entropy. */
    private static List<float[]> grads(Gpt model, Tensor x, Tensor y, DType cast) {
        model.zeroGrad();
        Generator.global().manualSeed(42);
        Tensor loss;
        try (var ac = cast == null ? Autocast.disabled() : Autocast.enable(cast)) {
            loss = Functional.crossEntropy(model.forward(x).reshape(-1, CONFIG.vocabSize()), y.reshape(-1));
        }
        assertEquals(DType.FLOAT32, loss.dtype());
        loss.backward();
        List<float[]> out = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            assertEquals(DType.FLOAT32, e.getValue().grad().dtype(), e.getKey());
            out.add(e.getValue().grad().toFloatArray());
        }
        return out;
    }

    @Test
    void checkpointedBlocksGiveExactlyThePlainGradients() {
        Generator g = new Generator(1);
        var model = new Gpt(CONFIG, g);
        model.train();
        Tensor x = Tensor.randint(g, 0, 13, 3, 16), y = Tensor.randint(g, 0, 13, 3, 16);
        for (DType cast : new DType[] {null, DType.BF16}) {
            List<float[]> plain = grads(model.checkpointActivations(false), x, y, cast);
            List<float[]> ckpt = grads(model.checkpointActivations(true), x, y, cast);
            for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), ckpt.get(i), "parameter " + i + " with " + cast);
        }
    }

    @Test
    void bf16GradientsStayCloseToFp32() {
        Generator g = new Generator(2);
        var model = new Gpt(new GptConfig(13, 16, 2, 2, 8, 0.0, true), g);
        Tensor x = Tensor.randint(g, 0, 13, 3, 16), y = Tensor.randint(g, 0, 13, 3, 16);
        List<float[]> fp32 = grads(model, x, y, null), bf16 = grads(model, x, y, DType.BF16);
        for (int i = 0; i < fp32.size(); i++) {
            double num = 0, den = 0;
            for (int j = 0; j < fp32.get(i).length; j++) {
                num += Math.pow(fp32.get(i)[j] - bf16.get(i)[j], 2);
                den += Math.pow(fp32.get(i)[j], 2);
            }
            assertTrue(Math.sqrt(num) <= 0.05 * Math.sqrt(den) + 1e-7, "parameter " + i + ": relative error " + Math.sqrt(num / den));
        }
    }
}
