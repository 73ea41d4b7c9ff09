package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import org.junit.jupiter.api.Test;

/** Buffers an op keeps for its backward go back to the pool only once that backward can no longer run. */
class SavedBuffersTest {
    private static final int N = 4099; // above ActivationArena.MIN_LENGTH, a length no other op here allocates

    /** y = x * 2 as a custom op whose backward reads a saved float buffer (all 2) and a saved int buffer (all 1). */
    private static Tensor scaled(Tensor x, float[][] keepF, int[][] keepI) {
        float[] twos = SavedBuffers.floats(N);
        int[] ones = SavedBuffers.ints(N);
        java.util.Arrays.fill(twos, 2f);
        java.util.Arrays.fill(ones, 1);
        float[] xa = x.toFloatArray(), y = new float[N];
        for (int i = 0; i < N; i++) y[i] = xa[i] * twos[i];
        keepF[0] = twos;
        keepI[0] = ones;
        Tensor out = Tensor.customOp("scaled", Tensor.wrap(y, N), g -> {
            float[] ga = g.toFloatArray(), dx = new float[N];
            for (int i = 0; i < N; i++) dx[i] = ga[i] * twos[i] * ones[i];
            return new Tensor[] {Tensor.wrap(dx, N)};
        }, x);
        return SavedBuffers.attach(out, twos, ones);
    }

    @Test
    void buffersReturnToThePoolAfterBackwardAndNotBefore() {
        Tensor x = Tensor.randn(new Generator(1), N).requiresGrad(true);
        float[][] f = new float[1][];
        int[][] i = new int[1][];
        Tensor loss = scaled(x, f, i).sum();
        // while the graph is alive the pool never hands the saved buffers out
        assertTrue(f[0] != SavedBuffers.floats(N), "the pool handed out a saved buffer of a live graph");
        assertTrue(i[0] != SavedBuffers.ints(N), "the pool handed out a saved buffer of a live graph");
        loss.backward();
        for (float v : x.grad().toFloatArray()) assertTrue(v == 2f, "gradient " + v);
        assertTrue(f[0] == SavedBuffers.floats(N), "the saved buffer is back in the pool");
        assertTrue(i[0] == SavedBuffers.ints(N), "the saved buffer is back in the pool");
    }

    @Test
    void aSecondBackwardFailsInsteadOfReadingReleasedBuffers() {
        Tensor x = Tensor.randn(new Generator(2), N).requiresGrad(true);
        Tensor y = scaled(x, new float[1][], new int[1][]);
        y.backward(Tensor.ones(N));
        SavedBuffers.floats(N)[0] = Float.NaN; // another op now owns the released buffer and overwrites it
        var e = assertThrows(IllegalStateException.class, () -> y.backward(Tensor.ones(N)));
        assertTrue(e.getMessage().contains("second time") && e.getMessage().contains("'scaled'"), e.getMessage());
    }

    @Test
    void aRetainedGraphKeepsItsBuffersAndGivesTheSameGradientTwice() {
        Tensor x = Tensor.randn(new Generator(3), N).requiresGrad(true);
        float[][] f = new float[1][];
        Tensor loss = scaled(x, f, new int[1][]).sum();
        loss.backward(null, true);
        float[] once = x.grad().toFloatArray();
        assertTrue(f[0] != SavedBuffers.floats(N), "the pool handed out a saved buffer of a live graph");
        x.zeroGrad();
        loss.backward();
        assertArrayEquals(once, x.grad().toFloatArray());
        assertTrue(f[0] == SavedBuffers.floats(N), "the saved buffer is back in the pool");
    }

    @Test
    void withoutAGraphTheBuffersGoBackAtOnce() {
        float[][] f = new float[1][];
        int[][] i = new int[1][];
        try (var off = Grad.disabled()) {
            scaled(Tensor.randn(new Generator(4), N).requiresGrad(true), f, i);
        }
        assertTrue(f[0] == SavedBuffers.floats(N), "the saved buffer is back in the pool");
        assertTrue(i[0] == SavedBuffers.ints(N), "the saved buffer is back in the pool");
    }

    @Test
    void badBuffersAreRejectedByName() {
        Tensor x = Tensor.randn(new Generator(5), 3).requiresGrad(true);
        Tensor out = x.mul(2f);
        var e = assertThrows(IllegalArgumentException.class, () -> SavedBuffers.attach(out, new float[4], "oops"));
        assertTrue(e.getMessage().contains("String"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SavedBuffers.attach(out, (Object) null));
        assertTrue(e.getMessage().contains("null"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SavedBuffers.floats(-3));
        assertTrue(e.getMessage().contains("-3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SavedBuffers.ints(-1));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        SavedBuffers.attach(out, new float[4]);
        var twice = assertThrows(IllegalStateException.class, () -> SavedBuffers.attach(out, new int[4]));
        assertTrue(twice.getMessage().contains("already"), twice.getMessage());
    }
}
