package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.GradCheck;
import dev.kindling.kernels.Parallel;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gradient checks, module behaviour and bad input for the convolution, pooling and batch-norm layers. */
class CnnLayersTest {
    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Generator(seed), shape);
    }

    /** Distinct, well separated values so that no max-pool window has a near tie within the finite-difference step. */
    private static Tensor separated(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] a = t.floatData();
        int[] perm = new int[a.length];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        new Generator(seed).shuffle(perm);
        for (int i = 0; i < a.length; i++) a[i] = perm[i] * 0.1f;
        return t;
    }

    @Test
    void conv2dGradients() {
        GradCheck.check("conv2d pad 1", in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 1, 1),
                List.of(randn(1, 2, 3, 5, 4), randn(2, 4, 3, 3, 3), randn(3, 4)));
        GradCheck.check("conv2d groups/stride/dilation", in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), new int[] {2, 1},
                new int[] {1, 2}, new int[] {1, 2}, 2), List.of(randn(4, 1, 4, 6, 7), randn(5, 4, 2, 2, 3), randn(6, 4)));
        GradCheck.check("conv2d same", in -> Functional.conv2d(in.get(0), in.get(1), null, "same", new int[] {2}, 1),
                List.of(randn(7, 1, 2, 5, 5), randn(8, 3, 2, 2, 3)));
        GradCheck.check("conv2d 1x1", in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 1, 0),
                List.of(randn(9, 3, 4, 2, 3), randn(10, 2, 4, 1, 1), randn(11, 2)));
        // a non-contiguous input (a transposed view)
        GradCheck.check("conv2d strided input", in -> Functional.conv2d(in.get(0).transpose(2, 3), in.get(1), null, 2, 1),
                List.of(randn(12, 2, 2, 5, 6), randn(13, 3, 2, 3, 3)));
    }

    @Test
    void conv2dReluGradients() {
        // finite differences move one input element by up to 2 eps = 0.02, which moves a pre-activation by at most
        // 0.02 * max(|w|, |x|, 1): take the first seed whose pre-activations all stay further than that from the kink at 0
        for (long seed = 20; ; seed += 3) {
            Tensor x = randn(seed, 2, 2, 4, 3), w = randn(seed + 1, 3, 2, 3, 3), b = randn(seed + 2, 3);
            float margin = 0.03f * Math.max(1, Math.max(w.abs().max().item(), x.abs().max().item()));
            boolean clear = true;
            for (float v : Functional.conv2d(x, w, b, 1, 1).toFloatArray()) clear &= Math.abs(v) > margin;
            if (!clear) continue;
            GradCheck.check("conv2dRelu", in -> Functional.conv2dRelu(in.get(0), in.get(1), in.get(2), new int[] {1}, new int[] {1},
                    new int[] {1}, 1), List.of(x, w, b));
            return;
        }
    }

    /** The fused op gives exactly what conv2d then relu give: output and every gradient, on the general and fast paths. */
    @Test
    void conv2dReluIsConvThenRelu() {
        record Case(String name, int[] x, int[] w, int[] stride, int[] pad, int[] dil, int groups) {}
        var cases = List.of(
                new Case("3x3 pad 1 (shifted runs)", new int[] {10, 3, 7, 6}, new int[] {5, 3, 3, 3}, new int[] {1}, new int[] {1}, new int[] {1}, 1),
                new Case("groups, stride, dilation", new int[] {3, 4, 6, 7}, new int[] {6, 2, 2, 3}, new int[] {2, 1}, new int[] {1, 2}, new int[] {1, 2}, 2),
                new Case("1x1 (no im2col)", new int[] {2, 4, 3, 5}, new int[] {3, 4, 1, 1}, new int[] {1}, new int[] {0}, new int[] {1}, 1));
        long seed = 30;
        for (Case c : cases) {
            Tensor x = randn(seed++, c.x), w = randn(seed++, c.w), b = randn(seed++, c.w[0]);
            Tensor[] fused = {x.detach().requiresGrad(true), w.detach().requiresGrad(true), b.detach().requiresGrad(true)};
            Tensor[] plain = {x.detach().requiresGrad(true), w.detach().requiresGrad(true), b.detach().requiresGrad(true)};
            Tensor yf = Functional.conv2dRelu(fused[0], fused[1], fused[2], c.stride, c.pad, c.dil, c.groups);
            Tensor yp = Functional.conv2d(plain[0], plain[1], plain[2], c.stride, c.pad, c.dil, c.groups).relu();
            assertArrayEquals(yp.toFloatArray(), yf.toFloatArray(), c.name + ": output");
            Tensor up = randn(seed++, yp.shape());
            yf.mul(up).sum().backward();
            yp.mul(up).sum().backward();
            for (int i = 0; i < 3; i++)
                assertArrayEquals(plain[i].grad().toFloatArray(), fused[i].grad().toFloatArray(), 1e-5f, c.name + ": gradient " + i);
        }
        // the module's "same" padding with an even kernel pads one more row and column at the end
        var conv = Conv2d.same(2, 3, new int[] {2, 4}, new int[] {1}, 1, true, new Generator(5));
        Tensor x = randn(40, 2, 2, 5, 6);
        assertArrayEquals(conv.forward(x).relu().toFloatArray(), conv.forwardRelu(x).toFloatArray());
    }

    /** conv + ReLU + 2x2 max-pool as one op gives exactly what the three ops give: output and every gradient. */
    @Test
    void conv2dReluMaxPool2dIsConvReluPool() {
        record Case(String name, int[] x, int[] w, int[] stride, int[] pad, int[] dil, int groups) {}
        var cases = List.of(
                new Case("3x3 pad 1, odd output (7x6)", new int[] {10, 3, 7, 6}, new int[] {5, 3, 3, 3}, new int[] {1}, new int[] {1}, new int[] {1}, 1),
                new Case("groups, stride, dilation", new int[] {3, 4, 6, 7}, new int[] {6, 2, 2, 3}, new int[] {2, 1}, new int[] {1, 2}, new int[] {1, 2}, 2),
                new Case("1x1 (no im2col)", new int[] {2, 4, 3, 5}, new int[] {3, 4, 1, 1}, new int[] {1}, new int[] {0}, new int[] {1}, 1),
                new Case("planes half a vector wide", new int[] {3, 2, 16, 16}, new int[] {4, 2, 3, 3}, new int[] {1}, new int[] {1}, new int[] {1}, 1));
        long seed = 50;
        for (Case c : cases) {
            Tensor x = separated(seed++, c.x), w = randn(seed++, c.w), b = randn(seed++, c.w[0]);
            Tensor[] fused = {x.detach().requiresGrad(true), w.detach().requiresGrad(true), b.detach().requiresGrad(true)};
            Tensor[] plain = {x.detach().requiresGrad(true), w.detach().requiresGrad(true), b.detach().requiresGrad(true)};
            Tensor yf = Functional.conv2dReluMaxPool2d(fused[0], fused[1], fused[2], c.stride, c.pad, c.dil, c.groups);
            Tensor yp = Functional.maxPool2d(Functional.conv2d(plain[0], plain[1], plain[2], c.stride, c.pad, c.dil, c.groups).relu(), 2, 2, 0);
            assertArrayEquals(yp.shape(), yf.shape(), c.name + ": shape");
            assertArrayEquals(yp.toFloatArray(), yf.toFloatArray(), c.name + ": output");
            Tensor up = randn(seed++, yp.shape());
            yf.mul(up).sum().backward();
            yp.mul(up).sum().backward();
            for (int i = 0; i < 3; i++)
                assertArrayEquals(plain[i].grad().toFloatArray(), fused[i].grad().toFloatArray(), 1e-4f, c.name + ": gradient " + i);
        }
        var conv = Conv2d.same(2, 3, new int[] {2, 4}, new int[] {1}, 1, true, new Generator(5));
        Tensor x = randn(41, 2, 2, 5, 6);
        assertArrayEquals(Functional.maxPool2d(conv.forward(x).relu(), 2, 2, 0).toFloatArray(), conv.forwardReluMaxPool(x).toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2dReluMaxPool2d(randn(42, 1, 1, 1, 5),
                randn(43, 2, 1, 1, 1), null, new int[] {1}, new int[] {0}, new int[] {1}, 1));
        assertTrue(e.getMessage().contains("conv2dReluMaxPool2d") && e.getMessage().contains("1x5"), e.getMessage());
    }

    @Test
    void poolingGradients() {
        GradCheck.check("maxPool2d", in -> Functional.maxPool2d(in.get(0), 3, 2, 1), List.of(separated(1, 2, 2, 7, 6)));
        GradCheck.check("maxPool2d 2x2", in -> Functional.maxPool2d(in.get(0), 2, 2, 0), List.of(separated(6, 2, 3, 4, 6)));
        GradCheck.check("maxPool2d dilation ceil", in -> Functional.maxPool2d(in.get(0), new int[] {2, 3}, null, new int[] {1, 1},
                new int[] {2, 1}, true), List.of(separated(2, 1, 2, 7, 8)));
        GradCheck.check("avgPool2d", in -> Functional.avgPool2d(in.get(0), 3, 2, 1), List.of(randn(3, 2, 2, 7, 6)));
        GradCheck.check("avgPool2d no pad count", in -> Functional.avgPool2d(in.get(0), new int[] {2, 3}, new int[] {2, 2},
                new int[] {1, 1}, true, false), List.of(randn(4, 1, 2, 5, 7)));
        GradCheck.check("adaptiveAvgPool2d", in -> Functional.adaptiveAvgPool2d(in.get(0), 3, 4), List.of(randn(5, 2, 2, 7, 5)));
    }

    @Test
    void maxPoolNaNAndInfinity() {
        // NaN is the maximum of its window, as in PyTorch; infinities compare as usual
        Tensor x = Tensor.fromArray(new float[] {1, Float.NaN, 3, 2, Float.NEGATIVE_INFINITY, -5, Float.POSITIVE_INFINITY, 0}, 1, 1, 2, 4);
        assertTrue(Float.isNaN(Functional.maxPool2d(x, 2, 2, 0).get(0, 0, 0, 0)), "2x2 path");
        assertTrue(Float.isNaN(Functional.maxPool2d(x, 2, 1, 0).get(0, 0, 0, 0)), "inside path");
        assertTrue(Float.isNaN(Functional.maxPool2d(x, 2, 2, 1).get(0, 0, 0, 1)), "padded path");
        // the gradient goes to the NaN, as in PyTorch, on the fast 2x2 path as on the general one
        for (int stride : new int[] {2, 1}) {
            Tensor xl = x.detach().requiresGrad(true);
            Functional.maxPool2d(xl, 2, stride, 0).select(3, 0).sum().backward();
            assertEquals(1f, xl.grad().get(0, 0, 0, 1), "stride " + stride);
            assertEquals(0f, xl.grad().get(0, 0, 0, 0), "stride " + stride);
        }
        Tensor y = Functional.maxPool2d(x, 2, 2, 0);
        assertEquals(Float.POSITIVE_INFINITY, y.get(0, 0, 0, 1));
    }

    @Test
    void batchNormGradients() {
        GradCheck.check("batchNorm train", in -> Functional.batchNorm(in.get(0), null, null, in.get(1), in.get(2), true, 0.1, 1e-5),
                List.of(randn(1, 3, 2, 3, 3), randn(2, 2), randn(3, 2)));
        GradCheck.check("batchNorm eval", in -> Functional.batchNorm(in.get(0), Tensor.fromArray(new float[] {0.5f, -1}, 2),
                Tensor.fromArray(new float[] {2, 0.5f}, 2), in.get(1), in.get(2), false, 0.1, 1e-5),
                List.of(randn(4, 3, 2, 3, 3), randn(5, 2), randn(6, 2)));
    }

    @Test
    void conv2dWeightGradientDoesNotDependOnThreads() {
        Tensor x = randn(1, 9, 3, 8, 8), w = randn(2, 4, 3, 3, 3);
        float[][] grads = new float[2][];
        int before = Parallel.threads();
        try {
            for (int t = 0; t < 2; t++) {
                Parallel.setThreads(t + 1);
                Tensor wl = w.detach().requiresGrad(true);
                Functional.conv2d(x, wl, null, 1, 1).sum().backward();
                grads[t] = wl.grad().toFloatArray();
            }
        } finally {
            Parallel.setThreads(before);
        }
        assertArrayEquals(grads[0], grads[1]);
    }

    @Test
    void conv2dModule() {
        var conv = new Conv2d(3, 8, new int[] {3}, new int[] {2}, new int[] {1}, new int[] {1}, 1, true, new Generator(1));
        assertArrayEquals(new int[] {8, 3, 3, 3}, conv.weight.shape());
        assertArrayEquals(new int[] {2, 8, 4, 5}, conv.forward(Tensor.zeros(2, 3, 8, 9)).shape());
        double bound = 1 / Math.sqrt(27);
        for (float v : conv.weight.toFloatArray()) assertTrue(Math.abs(v) <= bound);
        for (float v : conv.bias.toFloatArray()) assertTrue(Math.abs(v) <= bound);
        assertEquals(List.of("weight", "bias"), List.copyOf(conv.stateDict().keySet()));
        var same = Conv2d.same(2, 4, new int[] {4, 3}, new int[] {1}, 2, false, new Generator(2));
        assertArrayEquals(new int[] {1, 4, 6, 7}, same.forward(Tensor.zeros(1, 2, 6, 7)).shape());
        assertEquals("Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))", conv.toString());
    }

    @Test
    void batchNorm2dModule() {
        var bn = new BatchNorm2d(2);
        assertEquals(List.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked"), List.copyOf(bn.stateDict().keySet()));
        Tensor x = randn(3, 4, 2, 3, 3).mul(2).add(5);
        Tensor y = bn.forward(x);
        assertEquals(1, bn.numBatchesTracked());
        // training output has zero mean per channel; running mean moved 10% toward the batch mean (about 5)
        float[] yv = y.mean(new int[] {0, 2, 3}, false).toFloatArray();
        assertEquals(0, yv[0], 1e-5);
        float[] mean = x.mean(new int[] {0, 2, 3}, false).toFloatArray();
        assertEquals(0.1 * mean[0], bn.runningMean().toFloatArray()[0], 1e-5);
        bn.eval();
        Tensor z = bn.forward(x);
        assertEquals(1, bn.numBatchesTracked());
        float rm = bn.runningMean().toFloatArray()[1], rv = bn.runningVar().toFloatArray()[1];
        assertEquals((x.get(0, 1, 0, 0) - rm) / Math.sqrt(rv + 1e-5), z.get(0, 1, 0, 0), 1e-4);
    }

    @Test
    void poolingModules() {
        Tensor x = randn(1, 2, 3, 8, 8);
        assertArrayEquals(new int[] {2, 3, 4, 4}, new MaxPool2d(2).forward(x).shape());
        assertArrayEquals(new int[] {2, 3, 4, 4}, new AvgPool2d(2).forward(x).shape());
        assertArrayEquals(new int[] {2, 3, 1, 1}, new AdaptiveAvgPool2d(1, 1).forward(x).shape());
        assertEquals(x.mean(new int[] {2, 3}, false).get(1, 2), new AdaptiveAvgPool2d(1, 1).forward(x).get(1, 2, 0, 0), 1e-5);
    }

    @Test
    void badInput() {
        Tensor x = Tensor.zeros(1, 3, 5, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.zeros(4, 2, 3, 3), null, 1, 0));
        assertTrue(e.getMessage().contains("expects 2 input channels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.zeros(4, 3, 7, 7), null, 1, 0));
        assertTrue(e.getMessage().contains("smaller than the kernel extent 7"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(Tensor.zeros(3, 5, 5), Tensor.zeros(4, 3, 3, 3), null, 1, 0));
        assertTrue(e.getMessage().contains("[N, C, H, W]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.zeros(4, 3, 3, 3), null, "full", new int[] {1}, 1));
        assertTrue(e.getMessage().contains("\"full\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.maxPool2d(x, 2, 2, 2));
        assertTrue(e.getMessage().contains("padding 2 must be at most half the kernel size 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.zeros(1, 3, 1, 1), null, null, null, null, true, 0.1, 1e-5));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 4, 3, 1, 1).forward(Tensor.zeros(1, 2, 5, 5)));
    }
}
