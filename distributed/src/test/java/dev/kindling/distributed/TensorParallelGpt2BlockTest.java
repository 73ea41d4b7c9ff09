package dev.kindling.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The GPT-2 block split over ranks against itself on one rank; its state gathers to the single-process layout. */
class TensorParallelGpt2BlockTest {
    private static final int E = 8, HEADS = 4, B = 2, T = 5;

    /** Random GPT-2 block weights in Hugging Face names and layouts. */
    static Map<String, Tensor> weights(boolean bias) {
        Generator g = new Generator(21);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("ln_1.weight", Tensor.randn(g, E).mul(0.1).add(1));
        if (bias) w.put("ln_1.bias", Tensor.randn(g, E).mul(0.1));
        w.put("attn.c_attn.weight", Tensor.randn(g, E, 3 * E).mul(0.3));
        if (bias) w.put("attn.c_attn.bias", Tensor.randn(g, 3 * E).mul(0.1));
        w.put("attn.c_proj.weight", Tensor.randn(g, E, E).mul(0.3));
        if (bias) w.put("attn.c_proj.bias", Tensor.randn(g, E).mul(0.1));
        w.put("ln_2.weight", Tensor.randn(g, E).mul(0.1).add(1));
        if (bias) w.put("ln_2.bias", Tensor.randn(g, E).mul(0.1));
        w.put("mlp.c_fc.weight", Tensor.randn(g, E, 4 * E).mul(0.3));
        if (bias) w.put("mlp.c_fc.bias", Tensor.randn(g, 4 * E).mul(0.1));
        w.put("mlp.c_proj.weight", Tensor.randn(g, 4 * E, E).mul(0.3));
        if (bias) w.put("mlp.c_proj.bias", Tensor.randn(g, E).mul(0.1));
        return w;
    }

    private static Map<String, Tensor> grads(TensorParallelGpt2Block block) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        block.namedParameters().forEach((k, v) -> out.put(k, v.grad()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void splitBlockMatchesTheWholeBlockAndGathersToItsLayout(int n) throws Exception {
        for (boolean bias : new boolean[] {true, false}) {
            Map<String, Tensor> w = weights(bias);
            Tensor up = Tensor.randn(new Generator(5), B, T, E);
            List<Object[]> one = LocalCluster.run(1, pg -> run(w, up, pg));
            List<Object[]> split = LocalCluster.run(n, pg -> run(w, up, pg));
            for (int r = 0; r < n; r++) {
                String who = "rank " + r + " of " + n + (bias ? "" : " without biases");
                TrainingFixture.assertClose((float[]) one.get(0)[0], (float[]) split.get(r)[0], 1e-4, who + " output");
                TrainingFixture.assertClose((float[]) one.get(0)[1], (float[]) split.get(r)[1], 1e-4, who + " input gradient");
                @SuppressWarnings("unchecked")
                Map<String, Tensor> params = (Map<String, Tensor>) split.get(r)[2], gradsFull = (Map<String, Tensor>) split.get(r)[3],
                        gradsOne = (Map<String, Tensor>) one.get(0)[3];
                assertEquals(w.keySet(), params.keySet());
                for (String k : w.keySet()) {
                    assertEquals(java.util.Arrays.toString(w.get(k).toFloatArray()), java.util.Arrays.toString(params.get(k).toFloatArray()), who + " " + k);
                    TrainingFixture.assertClose(gradsOne.get(k).toFloatArray(), gradsFull.get(k).toFloatArray(), 1e-4, who + " gradient of " + k);
                }
            }
        }
    }

    /** Output, input gradient, gathered parameters and gathered gradients of the block on this rank. */
    private static Object[] run(Map<String, Tensor> w, Tensor up, ProcessGroup pg) {
        var block = new TensorParallelGpt2Block(w, HEADS, 1e-5, pg);
        Tensor x = Tensor.randn(new Generator(4), B, T, E).requiresGrad(true);
        Tensor y = block.forward(x);
        y.backward(up);
        var layouts = TensorParallel.layouts(block);
        // slicing the gathered state again gives this rank's parameters back
        var gathered = TensorParallel.gather(block.stateDict(), layouts, pg);
        var again = TensorParallel.slice(gathered, layouts);
        for (var e : block.stateDict().entrySet())
            assertEquals(java.util.Arrays.toString(e.getValue().toFloatArray()), java.util.Arrays.toString(again.get(e.getKey()).toFloatArray()));
        return new Object[] {y.toFloatArray(), x.grad().toFloatArray(), gathered, TensorParallel.gather(grads(block), layouts, pg)};
    }

    @Test
    void clippingUsesTheNormOfTheWholeGradient() throws Exception {
        Map<String, Tensor> w = weights(true);
        Tensor up = Tensor.randn(new Generator(5), B, T, E).mul(50);
        List<double[]> norms = LocalCluster.run(1, pg -> clip(w, up, pg));
        List<double[]> split = LocalCluster.run(2, pg -> clip(w, up, pg));
        for (double[] s : split) {
            assertEquals(norms.get(0)[0], s[0], 1e-4 * norms.get(0)[0], "norm before clipping");
            assertEquals(1.0, s[1], 1e-4, "norm after clipping");
        }
    }

    private static double[] clip(Map<String, Tensor> w, Tensor up, ProcessGroup pg) {
        var block = new TensorParallelGpt2Block(w, HEADS, 1e-5, pg);
        block.forward(Tensor.randn(new Generator(4), B, T, E)).backward(up);
        double before = TensorParallel.clipGradNorm(block, 1.0, pg);
        double after = TensorParallel.clipGradNorm(block, 1e9, pg);
        return new double[] {before, after};
    }

    @Test
    void badShapesAreRefusedNamingThem() throws Exception {
        LocalCluster.run(1, pg -> {
            Map<String, Tensor> w = weights(true);
            w.put("attn.c_attn.weight", Tensor.zeros(E, 2 * E));
            var e = assertThrows(IllegalArgumentException.class, () -> new TensorParallelGpt2Block(w, HEADS, 1e-5, pg));
            assertEquals("TensorParallelGpt2Block: needs attn.c_attn.weight of shape [E, 3E], got [8, 16]", e.getMessage());
            var l = assertThrows(IllegalArgumentException.class, () -> new ShardLayout(new int[] {4, 6}, 1, new int[] {4}, 3));
            assertEquals("ShardLayout: range [4, 7) is outside dimension 1 of [4, 6]", l.getMessage());
            return null;
        });
        List<Object> r = LocalCluster.runCatching(3, java.time.Duration.ofSeconds(30), pg -> new TensorParallelGpt2Block(weights(true), 2, 1e-5, pg));
        assertEquals("TensorParallelGpt2Block: 2 heads cannot be split over 3 ranks", ((Throwable) r.get(0)).getMessage());
    }
}
