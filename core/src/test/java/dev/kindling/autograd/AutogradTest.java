package dev.kindling.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Autograd semantics: accumulation, graph lifetime, grad mode, reuse, retained gradients. */
class AutogradTest {

    private static Tensor leaf(float... values) {
        return Tensor.fromArray(values, values.length).requiresGrad(true);
    }

    private static void assertValues(float[] expected, Tensor actual) {
        assertArrayEquals(expected, actual.toFloatArray(), 1e-5f, actual.toString());
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = leaf(1, 2, 3);
        x.mul(x).sum().backward();               // 2x
        assertValues(new float[] {2, 4, 6}, x.grad());
        x.mul(3).sum().backward();               // + 3
        assertValues(new float[] {5, 7, 9}, x.grad());
    }

    @Test
    void zeroGradStartsAfresh() {
        Tensor x = leaf(1, 2);
        x.mul(2).sum().backward();
        x.zeroGrad();
        assertNull(x.grad());
        x.mul(5).sum().backward();
        assertValues(new float[] {5, 5}, x.grad());
    }

    @Test
    void theGradientBelongsToTheLeafNotToTheGraph() {
        Tensor x = leaf(1, 2);
        Tensor y = x.expand(2);            // expand's backward passes the upstream gradient itself
        Tensor g = Tensor.fromArray(new float[] {4, 5}, 2);
        y.backward(g);
        g.floatData()[0] = 100;            // the caller's tensor is not the stored gradient
        assertValues(new float[] {4, 5}, x.grad());
    }

    @Test
    void detachStopsGradients() {
        Tensor x = leaf(1, 2, 3);
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertTrue(d.isLeaf());
        assertTrue(d.sharesStorageWith(x));
        d.mul(x).sum().backward();         // only the second factor carries a gradient
        assertValues(new float[] {1, 2, 3}, x.grad());
        Tensor y = x.mul(2).detach();
        assertFalse(y.requiresGrad());
        assertThrows(IllegalStateException.class, () -> y.sum().backward());
    }

    @Test
    void gradDisabledRecordsNothingAndRestoresTheMode() {
        Tensor x = leaf(1, 2);
        Tensor y;
        try (var off = Grad.disabled()) {
            assertFalse(Grad.isEnabled());
            y = x.mul(2).exp().sum();
            try (var on = Grad.enabled()) {
                assertTrue(x.mul(2).requiresGrad());
            }
            assertFalse(Grad.isEnabled());
        }
        assertTrue(Grad.isEnabled());
        assertFalse(y.requiresGrad());
        assertNull(y.gradFnName());
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
        assertNull(x.grad());
    }

    @Test
    void gradModeIsPerThread() throws Exception {
        try (var off = Grad.disabled()) {
            assertTrue(CompletableFuture.supplyAsync(Grad::isEnabled).get());
            assertFalse(Grad.isEnabled());
        }
    }

    @Test
    void backwardTwiceThroughAFreedGraphFailsClearly() {
        Tensor x = leaf(1, 2);
        Tensor loss = x.mul(x).sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("second time"), e.getMessage());
        assertTrue(e.getMessage().contains("backward(grad, true)"), e.getMessage());
        assertValues(new float[] {2, 4}, x.grad()); // the failed call added nothing
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = leaf(1, 2);
        Tensor loss = x.mul(x).sum();
        loss.backward(Tensor.scalar(1), true);
        loss.backward(Tensor.scalar(1), true);
        assertValues(new float[] {4, 8}, x.grad());
        loss.backward();                           // the last one frees it
        assertThrows(IllegalStateException.class, loss::backward);
    }

    @Test
    void aSharedSubgraphIsFreedForOtherRootsToo() {
        Tensor x = leaf(1, 2);
        Tensor h = x.exp();
        h.sum().backward();
        Tensor other = h.mul(2).sum();             // new op on top of the freed exp node
        assertThrows(IllegalStateException.class, other::backward);
    }

    @Test
    void backwardOnANonScalarNeedsAGradient() {
        Tensor y = leaf(1, 2, 3, 4, 5, 6).reshape(2, 3).mul(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("scalar") && e.getMessage().contains("[2, 3]"), e.getMessage());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> y.backward(Tensor.ones(3, 2)));
        assertTrue(wrong.getMessage().contains("[3, 2]") && wrong.getMessage().contains("[2, 3]"), wrong.getMessage());
        y.backward(Tensor.ones(2, 3));
    }

    @Test
    void aTensorUsedTwiceGetsTheSumOfItsGradients() {
        Tensor x = leaf(0.5f, -1, 2);
        x.mul(x).sum().backward();                         // d(x*x) = 2x
        assertValues(new float[] {1, -2, 4}, x.grad());

        Tensor z = leaf(0.5f, -1, 2);
        z.exp().add(z.sin()).sum().backward();             // two branches: exp + cos
        float[] v = {0.5f, -1, 2};
        float[] expected = new float[3];
        for (int i = 0; i < 3; i++) expected[i] = (float) (Math.exp(v[i]) + Math.cos(v[i]));
        assertValues(expected, z.grad());

        Tensor w = leaf(3);                                // a diamond: a = 2w, out = a * a + a
        Tensor a = w.mul(2);
        a.mul(a).add(a).sum().backward();                  // d/dw = (2a + 1) * 2 = 26
        assertValues(new float[] {26}, w.grad());
    }

    @Test
    void retainGradKeepsTheGradientOfANonLeaf() {
        Tensor x = leaf(1, 2);
        Tensor h = x.mul(3).retainGrad();
        Tensor k = x.mul(4);
        h.mul(h).sum().add(k.sum()).backward();
        assertValues(new float[] {6, 12}, h.grad());       // 2h
        assertNull(k.grad());                              // not retained
        assertValues(new float[] {18 + 4, 36 + 4}, x.grad());
        assertFalse(h.isLeaf());
        assertEquals("mul", h.gradFnName());
    }

    @Test
    void requiresGradRules() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.fromLongs(new long[] {1}, 1).requiresGrad(true));
        Tensor y = leaf(1).mul(2);
        assertThrows(IllegalStateException.class, () -> y.requiresGrad(false));
        Tensor plain = Tensor.ones(2).mul(2);
        assertFalse(plain.requiresGrad());
        assertTrue(plain.isLeaf());
    }

    @Test
    void aLongChainDoesNotOverflowTheStack() {
        Tensor x = leaf(1);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(1e-4);
        y.sum().backward();
        assertValues(new float[] {1}, x.grad());
    }

    @Test
    void gradientsFlowThroughDtypeConversions() {
        Tensor x = leaf(1.5f, -2);
        x.to(DType.BF16).to(DType.FLOAT32).mul(3).sum().backward();
        assertValues(new float[] {3, 3}, x.grad());
        Tensor w = Tensor.fromArray(new float[] {1, 2}, 2).to(DType.BF16).requiresGrad(true);
        w.mul(Tensor.fromArray(new float[] {5, 7}, 2)).sum().backward();
        assertValues(new float[] {5, 7}, w.grad());
        assertArrayEquals(w.shape(), w.grad().shape());
    }

    @Test
    void customOpBackwardRunsWithoutRecording() {
        Tensor x = leaf(1, 2);
        Tensor out;
        try (var off = Grad.disabled()) {
            out = x.mul(x);
        }
        boolean[] recording = {true};
        Tensor y = Tensor.customOp("square", out, g -> {
            recording[0] = Grad.isEnabled();
            return new Tensor[] {g.mul(x).mul(2)};
        }, x);
        assertEquals("square", y.gradFnName());
        y.sum().backward();
        assertFalse(recording[0]);
        assertValues(new float[] {2, 4}, x.grad());
    }

    @Test
    void gradientsOfIntegerInputsAreNotComputed() {
        Tensor w = Tensor.randn(new Generator(1), 4, 3).requiresGrad(true);
        Tensor ids = Tensor.fromLongs(new long[] {1, 1, 3}, 3);
        Tensor.embedding(w, ids).sum().backward();
        assertValues(new float[] {0, 0, 0, 2, 2, 2, 0, 0, 0, 1, 1, 1}, w.grad());
        assertNull(ids.grad());
    }
}
