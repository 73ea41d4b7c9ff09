package dev.kindling.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tensor.registerPostAccumulateGradHook: when it fires, what it sees, removal, and what it refuses. */
class PostAccumulateGradHookTest {
    private static Tensor leaf(float... values) {
        return Tensor.fromArray(values, values.length).requiresGrad(true);
    }

    @Test
    void firesOncePerBackwardAfterEveryUseOfTheLeafHasContributed() {
        Tensor x = leaf(1, 2, 3);
        List<float[]> seen = new ArrayList<>();
        x.registerPostAccumulateGradHook(t -> {
            assertSame(x, t);
            assertFalse(Grad.isEnabled(), "hooks run with grad mode off");
            seen.add(t.grad().toFloatArray());
        });
        // x is used three times: the hook must see the sum of all three contributions, once
        x.mul(x).add(x.mul(2)).sum().backward();   // d/dx (x^2 + 2x) = 2x + 2
        assertEquals(1, seen.size());
        assertArrayEquals(new float[] {4, 6, 8}, seen.get(0), 1e-6f);
        x.sum().backward();                          // accumulates: the hook sees the running total
        assertEquals(2, seen.size());
        assertArrayEquals(new float[] {5, 7, 9}, seen.get(1), 1e-6f);
    }

    @Test
    void laterLayersFireFirstSoTheirGradientsCanBeSentWhileBackwardContinues() {
        Tensor w1 = leaf(0.5f, -1f), w2 = leaf(2f, 3f), x = Tensor.fromArray(new float[] {1f, 2f}, 2);
        List<String> order = new ArrayList<>();
        List<Boolean> w1Done = new ArrayList<>();
        w1.registerPostAccumulateGradHook(t -> order.add("w1"));
        w2.registerPostAccumulateGradHook(t -> {
            order.add("w2");
            w1Done.add(w1.grad() != null);
        });
        x.mul(w1).relu().mul(w2).sum().backward();
        assertEquals(List.of("w2", "w1"), order);
        assertEquals(List.of(false), w1Done, "w2's hook runs before backward has reached w1");
    }

    @Test
    void removedHooksStopFiringAndHooksRunInRegistrationOrder() {
        Tensor x = leaf(1);
        List<String> calls = new ArrayList<>();
        RemovableHandle a = x.registerPostAccumulateGradHook(t -> calls.add("a"));
        x.registerPostAccumulateGradHook(t -> calls.add("b"));
        x.mul(3).sum().backward();
        a.remove();
        a.remove(); // twice is harmless
        x.mul(3).sum().backward();
        assertEquals(List.of("a", "b", "b"), calls);
    }

    @Test
    void aHookMayReplaceTheGradient() {
        Tensor x = leaf(1, 2);
        x.registerPostAccumulateGradHook(t -> t.setGrad(t.grad().mul(10)));
        x.sum().backward();
        assertArrayEquals(new float[] {10, 10}, x.grad().toFloatArray());
    }

    @Test
    void nonLeavesAndTensorsWithoutGradAreRefused() {
        Tensor y = leaf(1, 2).mul(2);
        var e = assertThrows(IllegalStateException.class, () -> y.registerPostAccumulateGradHook(t -> { }));
        assertEquals("registerPostAccumulateGradHook: only leaf tensors accumulate gradients, this one comes from op '"
                + y.gradFnName() + "'", e.getMessage());
        var f = assertThrows(IllegalStateException.class, () -> Tensor.zeros(2, 3).registerPostAccumulateGradHook(t -> { }));
        assertEquals("registerPostAccumulateGradHook: the tensor of shape [2, 3] does not require grad, so backward never accumulates into it", f.getMessage());
    }

    @Test
    void anExceptionFromAHookEndsTheBackward() {
        Tensor x = leaf(1);
        x.registerPostAccumulateGradHook(t -> {
            throw new IllegalStateException("stop");
        });
        assertEquals("stop", assertThrows(IllegalStateException.class, () -> x.mul(2).sum().backward()).getMessage());
    }
}
