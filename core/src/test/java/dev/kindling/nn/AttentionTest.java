package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.GradCheck;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionTest {
    /** softmax(q k^T / sqrt(d) + mask) v written out with plain tensor ops: the oracle for the fused kernel. */
    static Tensor reference(Tensor q, Tensor k, Tensor v, boolean causal) {
        int tq = q.size(-2), tk = k.size(-2);
        Tensor s = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(q.size(-1)));
        if (causal) s = s.maskedFill(Tensor.ones(tq, tk).tril(tk - tq).eq(0), Float.NEGATIVE_INFINITY);
        return s.softmax(-1).matmul(v);
    }

    private static void close(Tensor a, Tensor b, double tol) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        assertEquals(x.length, y.length);
        for (int i = 0; i < x.length; i++) assertEquals(y[i], x[i], tol * (1 + Math.abs(y[i])), "element " + i);
    }

    @ParameterizedTest
    @CsvSource({"5,5,true", "5,5,false", "2,7,true", "1,6,true", "3,4,false", "70,70,true", "70,135,true", "130,130,false"})
    void fusedMatchesComposedForwardAndBackward(int tq, int tk, boolean causal) {
        var g = new Generator(tq * 31 + tk);
        Tensor q = Tensor.randn(g, 2, 3, tq, 4).requiresGrad(true);
        Tensor k = Tensor.randn(g, 2, 3, tk, 4).requiresGrad(true);
        Tensor v = Tensor.randn(g, 2, 3, tk, 4).requiresGrad(true);
        Tensor gout = Tensor.randn(g, 2, 3, tq, 4);
        Tensor fused = Functional.scaledDotProductAttention(q, k, v, null, causal);
        assertEquals("scaledDotProductAttention", fused.gradFnName());
        fused.backward(gout);
        Tensor[] gf = {q.grad(), k.grad(), v.grad()};
        q.zeroGrad();
        k.zeroGrad();
        v.zeroGrad();
        Tensor ref = reference(q, k, v, causal);
        ref.backward(gout);
        close(fused, ref, 1e-5);
        close(gf[0], q.grad(), 1e-5);
        close(gf[1], k.grad(), 1e-5);
        close(gf[2], v.grad(), 1e-5);
    }

    @ParameterizedTest
    @CsvSource({"2,5,3,2", "1,70,2,3", "2,1,1,4"})
    void packedCausalSelfAttentionMatchesSplitHeads(int b, int t, int heads, int d) {
        var g = new Generator(b * 100 + t);
        int c = heads * d;
        Tensor qkv = Tensor.randn(g, b, t, 3 * c).requiresGrad(true);
        Tensor gout = Tensor.randn(g, b, t, c);
        Tensor packed = Functional.causalSelfAttention(qkv, heads);
        packed.backward(gout);
        Tensor gPacked = qkv.grad();
        qkv.zeroGrad();
        var parts = qkv.split(c, 2);
        Tensor q = parts.get(0).view(b, t, heads, d).transpose(1, 2);
        Tensor k = parts.get(1).view(b, t, heads, d).transpose(1, 2);
        Tensor v = parts.get(2).view(b, t, heads, d).transpose(1, 2);
        Tensor ref = reference(q, k, v, true).transpose(1, 2).reshape(b, t, c);
        ref.backward(gout);
        close(packed, ref, 1e-5);
        close(gPacked, qkv.grad(), 1e-5);
    }

    @Test
    void packedCausalSelfAttentionPassesGradientCheck() {
        var g = new Generator(9);
        GradCheck.check("causalSelfAttention", xs -> Functional.causalSelfAttention(xs.get(0), 2),
                List.of(Tensor.randn(g, 2, 3, 12)));
    }

    @Test
    void packedCausalSelfAttentionRejectsBadShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.causalSelfAttention(Tensor.zeros(2, 3, 10), 2));
        assertTrue(e.getMessage().contains("[2, 3, 10]") && e.getMessage().contains("2 heads"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Functional.causalSelfAttention(Tensor.zeros(3, 12), 2));
    }

    @Test
    void fusedAttentionPassesGradientCheck() {
        var g = new Generator(3);
        List<Tensor> in = List.of(Tensor.randn(g, 1, 2, 4, 3), Tensor.randn(g, 1, 2, 4, 3), Tensor.randn(g, 1, 2, 4, 3));
        GradCheck.check("sdpa causal", xs -> Functional.scaledDotProductAttention(xs.get(0), xs.get(1), xs.get(2), null, true), in);
    }

    @Test
    void explicitMaskHidesPositions() {
        var g = new Generator(4);
        Tensor q = Tensor.randn(g, 1, 1, 3, 2), k = Tensor.randn(g, 1, 1, 3, 2), v = Tensor.randn(g, 1, 1, 3, 2);
        Tensor mask = Tensor.ones(3, 3).tril(0);
        close(Functional.scaledDotProductAttention(q, k, v, mask, false), reference(q, k, v, true), 1e-6);
    }

    @Test
    void nonContiguousInputsGiveTheSameResult() {
        var g = new Generator(5);
        Tensor q = Tensor.randn(g, 2, 4, 3, 5).transpose(1, 2); // (2, 3, 4, 5) view
        Tensor k = Tensor.randn(g, 2, 4, 3, 5).transpose(1, 2);
        Tensor v = Tensor.randn(g, 2, 4, 3, 5).transpose(1, 2);
        close(Functional.scaledDotProductAttention(q, k, v, null, true),
                Functional.scaledDotProductAttention(q.contiguous(), k.contiguous(), v.contiguous(), null, true), 1e-6);
    }

    @Test
    void badShapesNameTheOp() {
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.scaledDotProductAttention(
                Tensor.zeros(1, 2, 3, 4), Tensor.zeros(1, 2, 3, 5), Tensor.zeros(1, 2, 3, 4), null, false));
        assertTrue(e.getMessage().contains("scaledDotProductAttention") && e.getMessage().contains("[1, 2, 3, 5]"), e.getMessage());
    }

    @Test
    void multiHeadAttentionPackedAndSeparateAgreeWithTheSameWeights() {
        var g = new Generator(6);
        var packed = new MultiHeadAttention(8, 2, 0, true, true, g);
        var separate = new MultiHeadAttention(8, 2, 0, true, false, g);
        var w = packed.namedParameters();
        var state = new java.util.LinkedHashMap<String, Tensor>();
        var ws = w.get("in_proj_weight").split(8, 0);
        var bs = w.get("in_proj_bias").split(8, 0);
        String[] names = {"q_proj", "k_proj", "v_proj"};
        for (int i = 0; i < 3; i++) {
            state.put(names[i] + ".weight", ws.get(i));
            state.put(names[i] + ".bias", bs.get(i));
        }
        state.put("out_proj.weight", w.get("out_proj.weight"));
        state.put("out_proj.bias", w.get("out_proj.bias"));
        separate.loadStateDict(state);
        Tensor x = Tensor.randn(g, 2, 5, 8);
        close(packed.forward(x, x, x, null, true), separate.forward(x, x, x, null, true), 1e-5);
        assertArrayEquals(new int[] {2, 5, 8}, packed.forward(x).shape());
    }

    @Test
    void transformerBlockGradientsCheck() {
        var g = new Generator(7);
        var block = new TransformerBlock(4, 2, 0, true, g);
        Tensor x = Tensor.randn(g, 1, 3, 4);
        GradCheck.check("transformer block", xs -> block.forward(xs.get(0)), List.of(x));
        assertEquals(4 * 4 * 3 + 4 * 3 + 4 * 4 + 4 + 2 * (4 + 4) + 4 * 16 + 16 + 16 * 4 + 4, block.parameterCount());
    }
}
