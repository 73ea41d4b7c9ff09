package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * BertModel's inference path (packed weights, fused attention, reused buffers) against its autograd path (taken in
 * training mode, where this model applies no dropout), on the tiny BERT fixture with padding: small batches, where
 * BF16 weights are read in place, and a batch of 300 rows, where they are widened into packed panels.
 */
class BertInferenceTest {
    static Path dir;

    @BeforeAll
    static void locate() throws URISyntaxException {
        dir = Path.of(BertInferenceTest.class.getResource("/golden/tiny-bert/config.json").toURI()).getParent();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "BF16", "F16"})
    void inferencePathMatchesAutogradPath(DType dtype) throws IOException {
        try (var auto = AutoModel.fromPretrained(dir, dtype); var g = Grad.disabled()) {
            BertModel bert = auto.as(BertModel.class);
            for (int[] bt : new int[][] {{1, 5}, {3, 12}, {30, 10}}) {
                Tensor[] in = inputs(bt[0], bt[1], 7);
                assertClose(autograd(bert, in), bert.forward(in[0], in[1], in[2]), dtype + " " + bt[0] + " x " + bt[1]);
            }
        }
    }

    @Test
    void weightsChangedInTrainingModeOrLoadedAreSeen() throws IOException {
        try (var auto = AutoModel.fromPretrained(dir, DType.FLOAT32); var g = Grad.disabled()) {
            BertModel bert = auto.as(BertModel.class);
            Tensor[] in = inputs(2, 8, 3);
            Tensor before = bert.forward(in[0], in[1], in[2]); // packs the weights
            Tensor w = bert.layers.get(0).intermediate.w.f32;
            Tensor original = Tensor.wrap(w.toFloatArray(), w.shape());
            bert.train();
            w.copyFrom(w.mul(1.5f)); // what an optimizer step does: in place
            bert.eval();
            Tensor after = bert.forward(in[0], in[1], in[2]);
            assertClose(autograd(bert, in), after, "after a change in training mode");
            assertTrue(maxDiff(before, after) > 1e-3, "the changed weight must change the output");
            bert.loadStateDict(Map.of("encoder.layer.0.intermediate.dense.weight", original), false);
            assertClose(before, bert.forward(in[0], in[1], in[2]), "after loadStateDict");
        }
    }

    /** The autograd path: training mode, which this inference-only model runs without dropout. */
    private static Tensor autograd(BertModel bert, Tensor[] in) {
        bert.train();
        try {
            return bert.forward(in[0], in[1], in[2]);
        } finally {
            bert.eval();
        }
    }

    /** ids, mask (row i has i % 4 padding positions at the end) and token types for b x t. */
    private static Tensor[] inputs(int b, int t, long seed) {
        var rnd = new SplittableRandom(seed);
        long[] ids = new long[b * t], mask = new long[b * t], types = new long[b * t];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = rnd.nextInt(40);
                mask[i * t + j] = j < t - Math.min(t - 1, i % 4) ? 1 : 0;
                types[i * t + j] = j >= t / 2 ? 1 : 0;
            }
        return new Tensor[] {Tensor.wrapLongs(ids, b, t), Tensor.wrapLongs(mask, b, t), Tensor.wrapLongs(types, b, t)};
    }

    private static void assertClose(Tensor expected, Tensor actual, String what) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()), what);
        double worst = maxDiff(expected, actual);
        assertTrue(worst <= 1e-4, what + ": largest deviation " + worst);
    }

    private static double maxDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double worst = 0;
        for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
        return worst;
    }
}
