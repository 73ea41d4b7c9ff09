package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.optim.Adam;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SimpleNN: its forward recycles its activations between steps, which must never change what training computes. */
class MlpTest {
    /** Odd sizes, batch 37: the hidden activations (37 x 131) are large enough for the activation pool. */
    private static final int IN = 97, HIDDEN = 131, CLASSES = 7, BATCH = 37;

    @Test
    void trainingThroughForwardEqualsTheSameOpsSpelledOut() {
        Map<String, Tensor> viaForward = train(true), spelledOut = train(false);
        assertEquals(spelledOut.keySet(), viaForward.keySet());
        for (String name : spelledOut.keySet())
            assertArrayEquals(spelledOut.get(name).toFloatArray(), viaForward.get(name).toFloatArray(), name);
    }

    @Test
    void flattensImagesAndRejectsAWrongWidth() {
        var model = new Mlp(12, 5, 3, new Generator(1));
        assertArrayEquals(new int[] {2, 3}, model.forward(Tensor.zeros(2, 3, 2, 2)).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> model.forward(Tensor.zeros(2, 11)));
        assertTrue(e.getMessage().contains("11"), e.getMessage());
    }

    /** Six Adam steps on fresh batches, the logits from {@code forward} or from the same ops written out. */
    private static Map<String, Tensor> train(boolean viaForward) {
        var g = new Generator(5);
        var model = new Mlp(IN, HIDDEN, CLASSES, g);
        Map<String, Tensor> p = model.namedParameters();
        var opt = new Adam(model.parameters(), 1e-2);
        var crit = new CrossEntropyLoss();
        for (int step = 0; step < 6; step++) {
            Tensor x = Tensor.randn(g, BATCH, IN), y = Tensor.randint(g, 0, CLASSES, BATCH);
            Tensor logits = viaForward ? model.forward(x)
                    : x.linear(p.get("layer1.weight"), p.get("layer1.bias")).relu().linear(p.get("layer2.weight"), p.get("layer2.bias"));
            Tensor loss = crit.forward(logits, y);
            opt.zeroGrad();
            loss.backward();
            opt.step();
        }
        return p;
    }
}
