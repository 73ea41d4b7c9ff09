package dev.kindling.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GradScalerTest {
    /** One SGD step on w with loss = sum(w * c), scaled; returns whether the step was taken. */
    private static boolean step(GradScaler scaler, SGD opt, Tensor w, Tensor c) {
        opt.zeroGrad();
        scaler.scale(w.mul(c).sum()).backward();
        boolean taken = scaler.step(opt);
        scaler.update();
        return taken;
    }

    @Test
    void scalesTheLossAndUnscalesTheGradientsBeforeTheStep() {
        Tensor w = Tensor.fromArray(new float[] {1, 2}, 2).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.5);
        var scaler = new GradScaler(1024, 2, 0.5, 3, true);
        assertEquals(1024f, scaler.scale(Tensor.scalar(1.5f)).item() / 1.5f);
        assertTrue(step(scaler, opt, w, Tensor.fromArray(new float[] {0.25f, -1}, 2)));
        assertArrayEquals(new float[] {1 - 0.125f, 2.5f}, w.toFloatArray(), "the update uses the true gradient");
        assertArrayEquals(new float[] {0.25f, -1}, w.grad().toFloatArray());
    }

    @Test
    void unscaleBeforeClippingGivesTheTrueNorm() {
        Tensor w = Tensor.fromArray(new float[] {0, 0}, 2).requiresGrad(true);
        var opt = new SGD(List.of(w), 1);
        var scaler = new GradScaler();
        scaler.scale(w.mul(Tensor.fromArray(new float[] {3, 4}, 2)).sum()).backward();
        scaler.unscale(opt);
        assertEquals(5.0, GradClip.clipGradNorm(List.of(w), 1.0), 1e-6);
        assertTrue(scaler.step(opt));
        scaler.update();
        assertArrayEquals(new float[] {-0.6f, -0.8f}, w.toFloatArray(), 1e-6f);
    }

    @Test
    void skipsTheStepOnInfOrNanAndBacksOffThenGrows() {
        Tensor w = Tensor.fromArray(new float[] {1, 1}, 2).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.1);
        var scaler = new GradScaler(8, 2, 0.5, 2, true);
        assertFalse(step(scaler, opt, w, Tensor.fromArray(new float[] {Float.POSITIVE_INFINITY, 1}, 2)));
        assertArrayEquals(new float[] {1, 1}, w.toFloatArray(), "a skipped step leaves the weights alone");
        assertEquals(0, opt.stepCount());
        assertEquals(4, scaler.getScale());
        assertFalse(step(scaler, opt, w, Tensor.fromArray(new float[] {Float.NaN, 1}, 2)));
        assertEquals(2, scaler.getScale());
        assertTrue(step(scaler, opt, w, Tensor.fromArray(new float[] {1, 1}, 2)));
        assertEquals(2, scaler.getScale(), "one good step is not yet growthInterval");
        assertTrue(step(scaler, opt, w, Tensor.fromArray(new float[] {1, 1}, 2)));
        assertEquals(4, scaler.getScale(), "two good steps in a row grow the scale");
        assertFalse(scaler.foundInf());
    }

    @Test
    void aGradientThatOverflowsOnlyWhenScaledIsCaught() {
        // 1e-30 * 2^16 is fine, but a gradient of 1e35 times 2^16 exceeds float: the scaled backward overflows
        Tensor w = Tensor.fromArray(new float[] {1}, 1).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.1);
        var scaler = new GradScaler();
        assertFalse(step(scaler, opt, w, Tensor.fromArray(new float[] {1e35f}, 1)));
        assertEquals(32768, scaler.getScale());
    }

    @Test
    void stateRoundTripsThroughAStateDict() {
        Tensor w = Tensor.fromArray(new float[] {1}, 1).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.1);
        var a = new GradScaler(64, 2, 0.5, 5, true);
        step(a, opt, w, Tensor.fromArray(new float[] {Float.NaN}, 1));
        step(a, opt, w, Tensor.fromArray(new float[] {1}, 1));
        step(a, opt, w, Tensor.fromArray(new float[] {1}, 1));
        Map<String, Tensor> sd = a.stateDict();
        assertEquals(DType.INT64, sd.get("growth_tracker").dtype());
        var b = new GradScaler(64, 2, 0.5, 5, true);
        b.loadStateDict(sd);
        assertEquals(32, b.getScale());
        // both need three more good steps to grow: the tracker came along
        for (int i = 0; i < 3; i++) {
            step(a, opt, w, Tensor.fromArray(new float[] {1}, 1));
            step(b, opt, w, Tensor.fromArray(new float[] {1}, 1));
        }
        assertEquals(64, a.getScale());
        assertEquals(64, b.getScale());
    }

    @Test
    void misuseAndBadValuesAreRefused() {
        Tensor w = Tensor.fromArray(new float[] {1}, 1).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.1);
        var scaler = new GradScaler();
        scaler.scale(w.sum()).backward();
        scaler.unscale(opt);
        var twice = assertThrows(IllegalStateException.class, () -> scaler.unscale(opt));
        assertEquals("GradScaler.unscale: already called since the last update()", twice.getMessage());
        scaler.update();
        assertThrows(IllegalStateException.class, scaler::update);
        assertEquals("GradScaler: growthFactor must be > 1, got 0.5",
                assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 0.5, 0.5, 1, true)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(0, 2, 0.5, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 1.5, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 0.5, 0, true));
        var bad = Map.of("scale", Tensor.fromArray(new float[] {-1}, 1), "growth_tracker", Tensor.fromLongs(new long[] {0}, 1));
        assertEquals("GradScaler state dict: scale -1.0 is not positive and finite",
                assertThrows(IllegalArgumentException.class, () -> scaler.loadStateDict(bad)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> scaler.loadStateDict(Map.of()));
    }

    @Test
    void aDisabledScalerPassesThrough() {
        Tensor w = Tensor.fromArray(new float[] {1}, 1).requiresGrad(true);
        var opt = new SGD(List.of(w), 0.5);
        var scaler = new GradScaler(1024, 2, 0.5, 1, false);
        assertEquals(1, scaler.getScale());
        assertTrue(step(scaler, opt, w, Tensor.fromArray(new float[] {2}, 1)));
        assertArrayEquals(new float[] {0}, w.toFloatArray());
    }
}
