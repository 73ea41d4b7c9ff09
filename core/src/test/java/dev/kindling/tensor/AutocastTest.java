package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.io.Half;
import dev.kindling.nn.Functional;
import dev.kindling.optim.AdamW;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Autocast semantics: which ops go to 16 bits, exact results against their definition, caching, master weights. */
class AutocastTest {
    private static float round(DType half, float v) {
        return half == DType.BF16 ? Half.bf16ToFloat(Half.floatToBf16(v)) : Half.f16ToFloat(Half.floatToF16(v));
    }

    private static Tensor rounded(DType half, Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = round(half, v[i]);
        return Tensor.fromArray(v, t.shape());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void matmulIsTheRoundedProductOfRoundedInputs(DType half) {
        Generator g = new Generator(3);
        Tensor a = Tensor.randn(g, 2, 5, 9).requiresGrad(true), w = Tensor.randn(g, 9, 7).requiresGrad(true);
        Tensor y;
        try (var ac = Autocast.enable(half)) {
            y = a.matmul(w);
        }
        assertEquals(half, y.dtype());
        // products of 16-bit values are exact in float, so this is what a half GEMM with float accumulators gives
        Tensor want = rounded(half, rounded(half, a).matmul(rounded(half, w)));
        assertArrayEquals(want.toFloatArray(), y.toFloatArray());

        Tensor gout = Tensor.randn(g, 2, 5, 7);
        y.backward(gout);
        Tensor gr = rounded(half, gout);
        assertEquals(DType.FLOAT32, a.grad().dtype());
        assertEquals(DType.FLOAT32, w.grad().dtype());
        assertArrayEquals(rounded(half, gr.matmul(rounded(half, w).t())).toFloatArray(), a.grad().toFloatArray());
        assertArrayEquals(rounded(half, rounded(half, a).reshape(10, 9).t().matmul(gr.reshape(10, 7))).toFloatArray(),
                w.grad().toFloatArray());
    }

    @Test
    void linearAddsTheBiasBeforeRounding() {
        Generator g = new Generator(4);
        Tensor x = Tensor.randn(g, 6, 8), w = Tensor.randn(g, 5, 8), b = Tensor.randn(g, 5);
        Tensor y;
        try (var ac = Autocast.enable(DType.BF16)) {
            y = x.linear(w, b);
        }
        Tensor want = rounded(DType.BF16, rounded(DType.BF16, x).matmul(rounded(DType.BF16, w).t()).add(rounded(DType.BF16, b)));
        assertEquals(DType.BF16, y.dtype());
        assertArrayEquals(want.toFloatArray(), y.toFloatArray());
    }

    @Test
    void reductionsSoftmaxNormsAndLossesStayFloat32() {
        Generator g = new Generator(5);
        Tensor x = Tensor.randn(g, 4, 6), w = Tensor.randn(g, 6, 6);
        try (var ac = Autocast.enable(DType.BF16)) {
            Tensor h = x.matmul(w);
            assertEquals(DType.BF16, h.dtype());
            assertEquals(DType.FLOAT32, h.softmax(-1).dtype());
            assertEquals(DType.FLOAT32, h.sum().dtype());
            assertEquals(DType.FLOAT32, h.mean(-1).dtype());
            assertEquals(DType.FLOAT32, Functional.layerNorm(h, new int[] {6}, null, null, 1e-5).dtype());
            assertEquals(DType.FLOAT32, Functional.crossEntropy(h, Tensor.fromLongs(new long[] {0, 1, 2, 3}, 4)).dtype());
            assertEquals(DType.FLOAT32, h.add(x).dtype(), "a 16-bit tensor plus a float one promotes to float");
            // softmax of the bf16 values, computed in float: same as softmax of their float copy
            assertArrayEquals(h.to(DType.FLOAT32).softmax(-1).toFloatArray(), h.softmax(-1).toFloatArray());
        }
    }

    @Test
    void attentionAndConvolutionRunIn16Bits() {
        Generator g = new Generator(6);
        Tensor q = Tensor.randn(g, 2, 2, 5, 4), k = Tensor.randn(g, 2, 2, 5, 4), v = Tensor.randn(g, 2, 2, 5, 4);
        Tensor x = Tensor.randn(g, 1, 2, 5, 5), w = Tensor.randn(g, 3, 2, 3, 3);
        Tensor att, conv;
        try (var ac = Autocast.enable(DType.BF16)) {
            att = Functional.scaledDotProductAttention(q, k, v, null, true);
            conv = Functional.conv2d(x, w, null, 1, 1);
        }
        assertEquals(DType.BF16, att.dtype());
        assertEquals(DType.BF16, conv.dtype());
        Tensor wantAtt = rounded(DType.BF16, Functional.scaledDotProductAttention(rounded(DType.BF16, q), rounded(DType.BF16, k),
                rounded(DType.BF16, v), null, true));
        assertArrayEquals(wantAtt.toFloatArray(), att.toFloatArray());
        Tensor wantConv = rounded(DType.BF16, Functional.conv2d(rounded(DType.BF16, x), rounded(DType.BF16, w), null, 1, 1));
        assertArrayEquals(wantConv.toFloatArray(), conv.toFloatArray());
    }

    @Test
    void parametersAreCastOncePerScopeAndAgainAfterBackward() {
        Tensor w = Tensor.ones(3, 3).requiresGrad(true), activation = Tensor.ones(3, 3);
        Tensor first;
        try (var ac = Autocast.enable(DType.BF16)) {
            first = Autocast.cast(w);
            assertSame(first, Autocast.cast(w), "a parameter is converted once per scope");
            assertNotSame(Autocast.cast(activation), Autocast.cast(activation), "non-parameters are not cached");
            Tensor y = activation.matmul(w).add(activation.matmul(w)).sum(); // w used twice: one gradient, summed
            y.backward();
            assertArrayEquals(new float[] {6, 6, 6, 6, 6, 6, 6, 6, 6}, w.grad().toFloatArray());
            assertNotSame(first, Autocast.cast(w), "a backward (and the step after it) invalidates the cached copies");
        }
        try (var ac = Autocast.enable(DType.BF16)) {
            assertNotSame(first, Autocast.cast(w));
        }
        try (var ac = Autocast.enable(DType.BF16); var noGrad = Grad.disabled()) {
            assertNotSame(Autocast.cast(w), Autocast.cast(w), "without grad recording nothing is cached");
        }
    }

    @Test
    void scopesNestAndRestore() {
        assertNull(Autocast.dtype());
        try (var a = Autocast.enable(DType.BF16)) {
            try (var b = Autocast.disabled()) {
                assertNull(Autocast.dtype());
                assertEquals(DType.FLOAT32, Tensor.ones(2, 2).matmul(Tensor.ones(2, 2)).dtype());
            }
            try (var c = Autocast.enable(DType.F16)) {
                assertEquals(DType.F16, Autocast.dtype());
            }
            assertEquals(DType.BF16, Autocast.dtype());
        }
        assertNull(Autocast.dtype());
    }

    @Test
    void rejectsNonHalfDtypes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Autocast.enable(DType.FLOAT32));
        assertEquals("Autocast.enable: dtype must be BF16 or F16, got FLOAT32", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Autocast.enable(DType.INT8));
        assertNull(Autocast.dtype());
    }

    @Test
    void badShapesStillNameTheOperands() {
        try (var ac = Autocast.enable(DType.BF16)) {
            var e = assertThrows(IllegalArgumentException.class, () -> Tensor.ones(2, 3).matmul(Tensor.ones(4, 5)));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 5]"), e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> Tensor.ones(2, 3).linear(Tensor.ones(4, 5), null));
            assertTrue(e2.getMessage().startsWith("linear:"), e2.getMessage());
        }
    }

    @Test
    void f16OverflowsBeyond65504() {
        Tensor a = Tensor.full(300f, 1, 1000), b = Tensor.ones(1000, 2);
        try (var ac = Autocast.enable(DType.F16)) {
            Tensor y = a.matmul(b);
            assertTrue(Float.isInfinite(y.toFloatArray()[0]), "300000 does not fit in F16");
        }
    }

    @Test
    void masterWeightsAndOptimizerStateStayFloat32() {
        Generator g = new Generator(7);
        Tensor w = Tensor.randn(g, 4, 4).requiresGrad(true);
        var opt = new AdamW(List.of(w), 1e-2);
        for (int step = 0; step < 2; step++) {
            Tensor loss;
            try (var ac = Autocast.enable(DType.BF16)) {
                loss = Tensor.randn(g, 3, 4).matmul(w).to(DType.FLOAT32).pow(2).mean();
            }
            opt.zeroGrad();
            loss.backward();
            opt.step();
        }
        assertEquals(DType.FLOAT32, w.dtype());
        // the update is not confined to bf16 values: the master weight keeps full precision
        boolean offGrid = false;
        for (float v : w.toFloatArray()) offGrid |= round(DType.BF16, v) != v;
        assertTrue(offGrid);
        opt.stateDict().forEach((k, v) -> assertTrue(k.equals("step") || v.dtype() == DType.FLOAT32, k));
    }

    @Test
    void conversionsOfStridedViewsMatchElementReads() {
        Generator g = new Generator(8);
        Tensor x = Tensor.randn(g, 3, 4, 5);
        for (DType half : new DType[] {DType.BF16, DType.F16}) {
            Tensor h = x.to(half);
            Tensor view = h.permute(2, 0, 1).narrow(1, 1, 2);
            float[] got = view.to(DType.FLOAT32).toFloatArray();
            Tensor copy = view.contiguous();
            assertEquals(half, copy.dtype());
            int i = 0;
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 2; b++)
                    for (int c = 0; c < 4; c++) {
                        float want = round(half, x.get(b + 1, c, a));
                        assertEquals(want, got[i], "widened " + half);
                        assertEquals(want, copy.get(a, b, c), "copied " + half);
                        i++;
                    }
            assertArrayEquals(rounded(DType.F16, x.permute(1, 0, 2)).toFloatArray(),
                    x.permute(1, 0, 2).to(DType.F16).toFloatArray());
        }
    }
}
