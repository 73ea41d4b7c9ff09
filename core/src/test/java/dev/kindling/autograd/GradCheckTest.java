package dev.kindling.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker itself: it passes right gradients and reports wrong ones precisely. */
class GradCheckTest {
    private static final Tensor X = Tensor.randn(new Generator(3), 3, 4);

    /** x * 3 with a backward that is wrong only at one element. */
    private static Tensor wrongAtOneElement(Tensor x) {
        Tensor out;
        try (var off = Grad.disabled()) {
            out = x.mul(3);
        }
        return Tensor.customOp("triple", out, g -> {
            float[] d = g.mul(3).toFloatArray();
            d[5] += 0.5f;
            return new Tensor[] {Tensor.fromArray(d, g.shape())};
        }, x);
    }

    @Test
    void passesACorrectGradient() {
        GradCheck.check("softmax", in -> in.get(0).softmax(-1), List.of(X));
        GradCheck.check("matmul", in -> in.get(0).matmul(in.get(1)), List.of(X, Tensor.randn(new Generator(4), 4, 2)));
    }

    @Test
    void reportsTheOpTheInputTheWorstElementAndBothValues() {
        AssertionError e = assertThrows(AssertionError.class, () -> GradCheck.check("triple", in -> wrongAtOneElement(in.get(0)), List.of(X)));
        String msg = e.getMessage();
        assertTrue(msg.contains("gradcheck triple"), msg);
        assertTrue(msg.contains("input 0 of shape [3, 4]"), msg);
        assertTrue(msg.contains("element [1, 1]"), msg); // flat index 5 of [3, 4]
        var m = java.util.regex.Pattern.compile("analytic (\\S+) vs numeric (\\S+) ").matcher(msg);
        assertTrue(m.find(), msg);
        assertEquals(0.5, Double.parseDouble(m.group(1)) - Double.parseDouble(m.group(2)), 1e-3, msg);
    }

    @Test
    void catchesABackwardThatMixesUpOutputElements() {
        // the gradient of the sum is right (all ones sum to the same), only a random gout exposes the transpose
        Tensor sq = Tensor.randn(new Generator(5), 3, 3);
        assertThrows(AssertionError.class, () -> GradCheck.check("swapped", in -> {
            Tensor x = in.get(0);
            Tensor out;
            try (var off = Grad.disabled()) {
                out = x.mul(1);
            }
            return Tensor.customOp("swapped", out, g -> new Tensor[] {g.t().contiguous()}, x);
        }, List.of(sq)));
    }

    @Test
    void onlyChecksTheInputsMarkedWrtAndPassesOthersUnchanged() {
        Tensor ids = Tensor.fromLongs(new long[] {2, 0}, 2);
        GradCheck.check("gather", in -> in.get(0).indexSelect(0, in.get(1)), List.of(X, ids), new boolean[] {true, false},
                GradCheck.Options.defaults());
    }

    @Test
    void rejectsANonFloatOutput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GradCheck.check("argmax", in -> in.get(0).argmax(1, false), List.of(X)));
        assertTrue(e.getMessage().contains("INT64"), e.getMessage());
    }
}
