package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Backward hands dead gradient arrays to FloatPool; reusing them must never change a result. */
class FloatPoolTest {
    private static final int N = FloatPool.MIN_LENGTH + 3; // large enough to be pooled, odd

    /** d/dx sum(relu(x * 2 + 1) * 3) = 6 where x * 2 + 1 > 0, else 0. */
    private static float[] expectedGrad(float[] x) {
        float[] e = new float[x.length];
        for (int i = 0; i < x.length; i++) e[i] = x[i] * 2 + 1 > 0 ? 6f : 0f;
        return e;
    }

    private static Tensor loss(Tensor x) {
        return x.mul(2f).add(1f).relu().mul(3f).sum();
    }

    @Test
    void repeatedBackwardsReusingPooledArraysGiveTheSameGradients() {
        var g = new Generator(7);
        Tensor x = Tensor.randn(g, N).requiresGrad(true);
        float[] expected = expectedGrad(x.toFloatArray());
        for (int step = 0; step < 4; step++) {
            loss(x).backward();
            assertArrayEquals(expected, x.grad().toFloatArray(), "step " + step);
            // whatever the pool now hands out must not be the storage the leaf's gradient uses
            float[] taken = FloatPool.zeros(N);
            assertNotSame(x.grad().f(), taken);
            for (float v : taken) assertEquals(0f, v);
            FloatPool.recycle(taken);
            x.zeroGrad();
        }
        assertTrue(FloatPool.pooledBytes() >= 4L * N, "backward recycled its intermediate gradients");
    }

    @Test
    void retainedGraphRecyclesNothingAndBackwardsTwice() {
        var g = new Generator(8);
        Tensor x = Tensor.randn(g, N).requiresGrad(true);
        float[] expected = expectedGrad(x.toFloatArray());
        Tensor l = loss(x);
        long before = FloatPool.pooledBytes();
        l.backward(null, true);
        assertEquals(before, FloatPool.pooledBytes(), "a retained graph keeps its gradients out of the pool");
        float[] first = x.grad().toFloatArray();
        l.backward(null, true);
        float[] twice = x.grad().toFloatArray();
        for (int i = 0; i < N; i++) assertEquals(2 * expected[i], twice[i], "element " + i);
        assertArrayEquals(expected, first);
    }

    /** Linear (plain and over a transposed weight), add and GELU forward and backward, as plain floats. */
    private static List<float[]> linearAddGelu(Tensor x, Tensor w, Tensor b) {
        x.zeroGrad();
        w.zeroGrad();
        Tensor y = x.linear(w, b).add(x).geluTanh().linear(w.t(), null);
        y.sum().backward();
        return List.of(y.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray());
    }

    @Test
    void opsThatSkipZeroFillingWriteEveryElementOfARecycledArray() {
        var g = new Generator(9);
        int in = 512, rows = FloatPool.MIN_LENGTH / in; // every array here is at least MIN_LENGTH long, so all of them come from the pool
        Tensor x = Tensor.randn(g, rows, in).requiresGrad(true);
        Tensor w = Tensor.randn(g, in, in).mul(0.05f).detach().requiresGrad(true), b = Tensor.randn(g, in).requiresGrad(true);
        List<float[]> expected = linearAddGelu(x, w, b);
        for (int i = 0; i < 40; i++) { // stale values everywhere: a skipped element would show as NaN
            float[] junk = new float[i % 2 == 0 ? rows * in : in * in];
            java.util.Arrays.fill(junk, Float.NaN);
            FloatPool.recycle(junk);
        }
        List<float[]> again = linearAddGelu(x, w, b);
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), again.get(i), "output " + i);
    }

    @Test
    void pooledArraysComeBackZeroed() {
        float[] a = new float[N];
        java.util.Arrays.fill(a, 5f);
        FloatPool.recycle(a);
        float[] b = FloatPool.zeros(N);
        for (float v : b) assertEquals(0f, v);
        float[] small = FloatPool.zeros(3);
        assertEquals(3, small.length);
    }
}
