package dev.kindling.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Leaves take a fresh gradient's storage instead of copying it, and zeroGrad keeps a dropped gradient's storage for
 * the next one: neither may ever let two gradients, a saved tensor or a caller's tensor share storage.
 */
class GradBufferReuseTest {
    private static float[] values(Tensor t) {
        return t.contiguous().toFloatArray();
    }

    @Test
    void aGradientPassedToTwoLeavesIsNotShared() {
        Tensor a = Tensor.zeros(3).requiresGrad(true), b = Tensor.zeros(3).requiresGrad(true);
        Tensor g = Tensor.wrap(new float[] {1, 2, 3}, 3);
        Tensor y = a.add(b);
        y.backward(g, true);
        y.backward(g, true); // accumulates in place into a.grad: b.grad and g must not move
        assertArrayEquals(new float[] {2, 4, 6}, values(a.grad()));
        assertArrayEquals(new float[] {2, 4, 6}, values(b.grad()));
        assertArrayEquals(new float[] {1, 2, 3}, values(g));
        assertFalse(a.grad().sharesStorageWith(b.grad()));
        assertFalse(a.grad().sharesStorageWith(g));
    }

    @Test
    void aLeafNeverTakesTheStorageOfAGraphTensor() {
        Tensor a = Tensor.wrap(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor h = a.mul(3f); // saved by nothing, but part of the graph
        Tensor y = h.reshape(2); // backward hands h's gradient through
        y.backward(Tensor.wrap(new float[] {1, 1}, 2));
        assertFalse(a.grad().sharesStorageWith(h));
        assertArrayEquals(new float[] {3, 3}, values(a.grad()));
    }

    private static Tensor square(Tensor y) {
        return y.mul(y);
    }

    @Test
    void zeroGradReusesTheWeightGradientStorageWithTheSameValues() {
        var gen = new Generator(3);
        Tensor x = Tensor.randn(gen, 5, 4), w = Tensor.randn(gen, 6, 4).requiresGrad(true), b = Tensor.randn(gen, 6).requiresGrad(true);
        square(x.linear(w, b)).sum().backward();
        Tensor first = w.grad();
        float[] expected = values(first);
        w.zeroGrad();
        b.zeroGrad();
        square(x.linear(w, b)).sum().backward();
        assertTrue(w.grad().sharesStorageWith(first), "the second gradient lands in the first one's storage");
        assertArrayEquals(expected, values(w.grad()));
    }

    @Test
    void aGradientSetByTheCallerIsNeverReused() {
        var gen = new Generator(4);
        Tensor x = Tensor.randn(gen, 2, 3), w = Tensor.randn(gen, 4, 3).requiresGrad(true);
        Tensor mine = Tensor.ones(4, 3);
        w.setGrad(mine);
        w.zeroGrad();
        x.linear(w, null).sum().backward();
        assertFalse(w.grad().sharesStorageWith(mine));
        assertArrayEquals(values(Tensor.ones(4, 3)), values(mine));
    }

    @Test
    void gradientsOfATensorUsedSeveralTimesAreSummedWithoutTouchingSharedOnes() {
        // y feeds three consumers: y * 3 and y * y give fresh gradients (summed in place), y + y hands one gradient
        // to both of its inputs (shared: never summed into); h and g must come out unchanged
        Tensor x = Tensor.wrap(new float[] {1, -2, 0.5f, 4}, 4).requiresGrad(true);
        Tensor y = x.mul(2f);
        Tensor h = y.mul(3f);
        Tensor z = h.add(y.mul(y)).add(y.add(y));
        Tensor g = Tensor.wrap(new float[] {1, 2, 3, 4}, 4);
        z.backward(g, true);
        float[] xs = {1, -2, 0.5f, 4}, gs = {1, 2, 3, 4}, want = new float[4];
        for (int i = 0; i < 4; i++) want[i] = gs[i] * (3 + 2 * (2 * xs[i]) + 2) * 2;
        assertArrayEquals(want, values(x.grad()));
        z.backward(g); // the retained graph gives the same gradient again, accumulated
        for (int i = 0; i < 4; i++) want[i] *= 2;
        assertArrayEquals(want, values(x.grad()));
        assertArrayEquals(new float[] {1, 2, 3, 4}, values(g));
        assertArrayEquals(new float[] {6, -12, 3, 24}, values(h));
    }
}
