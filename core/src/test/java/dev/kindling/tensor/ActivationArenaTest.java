package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Forward activations recycled after backward must never change a result, nor reach what the caller still holds. */
class ActivationArenaTest {
    private static final int ROWS = 37, IN = 131, OUT = 129; // every activation has more than MIN_LENGTH floats; odd sizes

    /** A two-layer net with a residual and layer norm: its intermediates are what the arena recycles. */
    private static Tensor net(Tensor x, Tensor w1, Tensor w2) {
        Tensor h = x.linear(w1, null).geluTanh();                         // (ROWS, OUT)
        Tensor r = h.linear(w2, null).add(x).mul(0.5f);                  // (ROWS, IN)
        return dev.kindling.nn.Functional.layerNorm(r, new int[] {IN}, null, null, 1e-5).linear(w1, null); // (ROWS, OUT)
    }

    /** Several SGD steps of net, each on fresh inputs; returns every output, the loss and the weights after each step. */
    private static List<float[]> train(boolean arena, boolean retainGraph) {
        var g = new Generator(3);
        Tensor w1 = Tensor.randn(g, OUT, IN).mul(0.1f).detach().requiresGrad(true);
        Tensor w2 = Tensor.randn(g, IN, OUT).mul(0.1f).detach().requiresGrad(true);
        List<float[]> seen = new ArrayList<>();
        List<Tensor> outputs = new ArrayList<>();
        for (int step = 0; step < 4; step++) {
            Tensor x = Tensor.randn(g, ROWS, IN);
            Tensor out = arena ? ActivationArena.run(() -> net(x, w1, w2)) : net(x, w1, w2);
            outputs.add(out);
            Tensor loss = out.mul(out).mean();
            loss.backward(null, retainGraph);
            seen.add(new float[] {loss.item()});
            try (var off = Grad.disabled()) {
                w1.copyFrom(w1.sub(w1.grad().mul(0.5f)));
                w2.copyFrom(w2.sub(w2.grad().mul(0.5f)));
            }
            w1.zeroGrad();
            w2.zeroGrad();
            seen.add(w1.toFloatArray());
            seen.add(w2.toFloatArray());
        }
        for (Tensor o : outputs) seen.add(o.toFloatArray()); // read after every later step: never recycled
        return seen;
    }

    @Test
    void recyclingGivesTheSameStepsAsKeepingEverything() {
        List<float[]> plain = train(false, true), recycled = train(true, false);
        assertEquals(plain.size(), recycled.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), recycled.get(i), "value " + i);
    }

    @Test
    void backwardHandsTheForwardsActivationsToThePool() {
        var g = new Generator(4);
        Tensor w1 = Tensor.randn(g, OUT, IN).requiresGrad(true), w2 = Tensor.randn(g, IN, OUT).requiresGrad(true);
        Tensor x = Tensor.randn(g, ROWS, IN);
        Tensor out = ActivationArena.run(() -> net(x, w1, w2));
        long before = FloatPool.pooledBytes();
        out.sum().backward();
        // gelu's input and output, the second linear, the add, the mul and the layer norm at least
        assertTrue(FloatPool.pooledBytes() - before >= 4L * (2 * ROWS * OUT + 4 * ROWS * IN),
                "pooled " + (FloatPool.pooledBytes() - before) + " bytes");
    }

    @Test
    void aRetainedGraphRecyclesNothingAndCanRunAgain() {
        var g = new Generator(5);
        Tensor w1 = Tensor.randn(g, OUT, IN).requiresGrad(true), w2 = Tensor.randn(g, IN, OUT).requiresGrad(true);
        Tensor x = Tensor.randn(g, ROWS, IN);
        Tensor out = ActivationArena.run(() -> net(x, w1, w2));
        Tensor loss = out.sum();
        long before = FloatPool.pooledBytes();
        loss.backward(null, true);
        float[] once = w2.grad().toFloatArray();
        // backward may take arrays that earlier tests left in the pool, but gives none back
        assertTrue(FloatPool.pooledBytes() <= before, "pooled " + before + " -> " + FloatPool.pooledBytes() + " bytes with a retained graph");
        loss.backward();
        float[] twice = w2.grad().toFloatArray();
        for (int i = 0; i < once.length; i++) assertEquals(2 * once[i], twice[i], Math.abs(once[i]) * 1e-5f + 1e-6f, "element " + i);
    }

    @Test
    void withoutGradOrNestedItIsAPlainCall() {
        var g = new Generator(6);
        Tensor w1 = Tensor.randn(g, OUT, IN).requiresGrad(true), w2 = Tensor.randn(g, IN, OUT).requiresGrad(true);
        Tensor x = Tensor.randn(g, ROWS, IN);
        try (var off = Grad.disabled()) {
            Tensor out = ActivationArena.run(() -> net(x, w1, w2));
            assertFalse(out.requiresGrad());
            assertArrayEquals(net(x, w1, w2).toFloatArray(), out.toFloatArray());
        }
        Tensor nested = ActivationArena.run(() -> ActivationArena.run(() -> net(x, w1, w2)));
        assertArrayEquals(net(x, w1, w2).toFloatArray(), nested.toFloatArray());
    }

    @Test
    void anArrayGivenBackTwiceIsHandedOutOnce() {
        float[] a = new float[ActivationArena.MIN_LENGTH + 1];
        FloatPool.recycle(a, ActivationArena.MIN_LENGTH);
        FloatPool.recycle(a, ActivationArena.MIN_LENGTH);
        float[] first = FloatPool.uninitialized(a.length), second = FloatPool.uninitialized(a.length);
        assertTrue(first != second, "the same array came out of the pool twice");
    }
}
