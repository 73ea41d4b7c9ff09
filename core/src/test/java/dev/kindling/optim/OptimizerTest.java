package dev.kindling.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptimizerTest {
    @TempDir
    Path dir;

    /** Two parameters of different shapes, as fresh leaves with the same values for every call. */
    private static List<Tensor> params() {
        Generator g = new Generator(3);
        return List.of(Tensor.randn(g, 3, 5).requiresGrad(true), Tensor.randn(g, 7).requiresGrad(true));
    }

    /** Gradients for step t, the same for every run. */
    private static void setGrads(List<Tensor> ps, int t) {
        Generator g = new Generator(100 + t);
        for (Tensor p : ps) p.setGrad(Tensor.randn(g, p.shape()));
    }

    private void roundTripContinuesIdentically(Function<List<Tensor>, Optimizer> make) throws IOException {
        List<Tensor> a = params();
        Optimizer optA = make.apply(a);
        for (int t = 0; t < 3; t++) {
            setGrads(a, t);
            optA.step();
        }
        // checkpoint through a file, as the training recipes do
        Path file = dir.resolve("opt.safetensors");
        Map<String, Tensor> all = new HashMap<>();
        optA.stateDict().forEach((k, v) -> all.put("optim." + k, v));
        for (int i = 0; i < a.size(); i++) all.put("param." + i, a.get(i));
        StateDicts.save(file, all, Map.of());
        var loaded = StateDicts.load(file).tensors();

        List<Tensor> b = params();
        for (int i = 0; i < b.size(); i++) b.get(i).copyFrom(loaded.get("param." + i));
        Optimizer optB = make.apply(b);
        optB.loadStateDict(StateDicts.withPrefix(loaded, "optim."));
        assertEquals(3, optB.stepCount());
        for (int t = 3; t < 6; t++) {
            setGrads(a, t);
            setGrads(b, t);
            optA.step();
            optB.step();
        }
        for (int i = 0; i < a.size(); i++)
            assertArrayEquals(a.get(i).toFloatArray(), b.get(i).toFloatArray(), 0f, "parameter " + i + " after resuming");
    }

    @Test
    void adamStateDictRoundTripContinuesIdentically() throws IOException {
        roundTripContinuesIdentically(ps -> new Adam(ps, 1e-2));
    }

    @Test
    void adamWWithTwoGroupsRoundTripContinuesIdentically() throws IOException {
        roundTripContinuesIdentically(ps -> new AdamW(List.of(new ParamGroup(ps.subList(0, 1), 1e-2, 0.1),
                new ParamGroup(ps.subList(1, 2), 3e-3, 0)), 0.9, 0.95, 1e-8));
    }

    @Test
    void sgdMomentumStateDictRoundTripContinuesIdentically() throws IOException {
        roundTripContinuesIdentically(ps -> new SGD(List.of(new ParamGroup(ps, 0.1, 1e-3)), 0.9, 0, true));
    }

    @Test
    void stateDictIsACopyNotTheLiveBuffers() {
        List<Tensor> ps = params();
        Optimizer opt = new Adam(ps, 1e-2);
        setGrads(ps, 0);
        opt.step();
        Map<String, Tensor> sd = opt.stateDict();
        float[] before = sd.get("0.0.exp_avg").toFloatArray();
        setGrads(ps, 1);
        opt.step();
        assertArrayEquals(before, sd.get("0.0.exp_avg").toFloatArray(), 0f);
        assertEquals(1, sd.get("step").getLong(0));
        assertEquals(List.of("step", "0.0.exp_avg", "0.0.exp_avg_sq", "0.1.exp_avg", "0.1.exp_avg_sq"), new ArrayList<>(sd.keySet()));
    }

    @Test
    void loadStateDictRejectsBadDictsAndKeepsItsState() {
        List<Tensor> ps = params();
        Optimizer opt = new Adam(ps, 1e-2);
        setGrads(ps, 0);
        opt.step();
        Map<String, Tensor> good = opt.stateDict();

        Map<String, Tensor> noStep = new HashMap<>(good);
        noStep.remove("step");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(noStep)).getMessage().contains("'step'"));

        Map<String, Tensor> wrongSize = new HashMap<>(good);
        wrongSize.put("0.1.exp_avg", Tensor.zeros(6));
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(wrongSize));
        assertTrue(e.getMessage().contains("'0.1.exp_avg' has 6 values for a parameter of 7"), e.getMessage());

        Map<String, Tensor> noGroup = new HashMap<>(good);
        noGroup.put("4.0.exp_avg", Tensor.zeros(15));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(noGroup)).getMessage().contains("group 4"));

        Map<String, Tensor> noParam = new HashMap<>(good);
        noParam.put("0.9.exp_avg", Tensor.zeros(15));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(noParam)).getMessage().contains("parameter 9"));

        Map<String, Tensor> malformed = new HashMap<>(good);
        malformed.put("x.0.exp_avg", Tensor.zeros(15));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(malformed)).getMessage().contains("malformed key 'x.0.exp_avg'"));

        // none of the failed loads changed anything
        assertEquals(1, opt.stepCount());
        assertArrayEquals(good.get("0.1.exp_avg").toFloatArray(), opt.stateDict().get("0.1.exp_avg").toFloatArray(), 0f);
    }

    @Test
    void zeroGradDropsGradientsAndParametersWithoutGradientsAreSkipped() {
        List<Tensor> ps = params();
        Optimizer opt = new SGD(ps, 0.1, 0.9);
        setGrads(ps, 0);
        opt.zeroGrad();
        for (Tensor p : ps) assertNull(p.grad());
        float[] before = ps.get(1).toFloatArray();
        ps.get(0).setGrad(Tensor.ones(3, 5));
        opt.step();
        assertArrayEquals(before, ps.get(1).toFloatArray(), 0f);
        assertEquals(1, opt.stateDict().size() - 1, "only the stepped parameter has a momentum buffer");
    }

    @Test
    void constructorsRejectBadHyperparameters() {
        List<Tensor> ps = params();
        assertThrows(IllegalArgumentException.class, () -> new SGD(ps, -0.1));
        assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(new ParamGroup(ps, 0.1, 0)), 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(new ParamGroup(ps, 0.1, 0)), 1.0, 0.999, 1e-8));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 0.1, -1));
        var twice = assertThrows(IllegalArgumentException.class,
                () -> new Adam(List.of(new ParamGroup(ps, 0.1, 0), new ParamGroup(ps.subList(0, 1), 0.1, 0)), 0.9, 0.999, 1e-8));
        assertTrue(twice.getMessage().contains("more than one group"));
        var frozen = assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(Tensor.zeros(2, 2)), 0.1));
        assertTrue(frozen.getMessage().contains("[2, 2]"), frozen.getMessage());
    }

    @Test
    void clipGradNormReturnsTheTotalNormAndScales() {
        Tensor a = Tensor.zeros(2).requiresGrad(true), b = Tensor.zeros(1).requiresGrad(true), c = Tensor.zeros(3).requiresGrad(true);
        a.setGrad(Tensor.fromArray(new float[] {3, 4}, 2));
        b.setGrad(Tensor.fromArray(new float[] {12}, 1));
        // c has no gradient: skipped
        double norm = GradClip.clipGradNorm(List.of(a, b, c), 6.5);
        assertEquals(13, norm, 1e-6);
        double scale = 6.5 / (13 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * scale), (float) (4 * scale)}, a.grad().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(float) (12 * scale)}, b.grad().toFloatArray(), 1e-6f);
        assertNull(c.grad());
        double after = Math.sqrt(Math.pow(a.grad().get(0), 2) + Math.pow(a.grad().get(1), 2) + Math.pow(b.grad().get(0), 2));
        assertEquals(6.5, after, 1e-5);

        // below the limit: returned, nothing scaled
        assertEquals(6.5, GradClip.clipGradNorm(List.of(a, b), 100), 1e-5);
        assertEquals(12 * scale, b.grad().get(0), 1e-6);

        // a non-finite gradient shows in the returned norm so the caller can skip the step
        b.setGrad(Tensor.fromArray(new float[] {Float.NaN}, 1));
        assertTrue(Double.isNaN(GradClip.clipGradNorm(List.of(a, b), 1)));
    }

    @Test
    void sumOfSquaresMatchesTheScalarLoopOnOddLengths() {
        java.util.Random r = new java.util.Random(7);
        for (int n : new int[] {0, 1, 7, 15, 16, 17, 31, 33, 1001}) {
            float[] g = new float[n];
            double want = 0;
            for (int i = 0; i < n; i++) {
                g[i] = (float) (r.nextGaussian() * 3);
                want += (double) g[i] * g[i];
            }
            assertEquals(want, GradClip.sumOfSquares(g), 1e-12 * Math.max(1, want), "length " + n);
        }
        assertTrue(Double.isNaN(GradClip.sumOfSquares(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, Float.NaN})));
        assertTrue(Double.isInfinite(GradClip.sumOfSquares(new float[] {Float.POSITIVE_INFINITY, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})));
    }

    @Test
    void gradientsThatAreViewsOfABiggerTensorWork() {
        // p.setGrad(view) is legal; step and clipGradNorm used to refuse such gradients (floatData needs an owned array)
        Tensor all = Tensor.fromArray(new float[] {9, 9, 3, 4}, 2, 2);
        Tensor p = Tensor.fromArray(new float[] {1, 1}, 2).requiresGrad(true);
        p.setGrad(all.select(0, 1));
        assertEquals(5, GradClip.clipGradNorm(List.of(p), 1), 1e-6);
        assertArrayEquals(new float[] {0.6f, 0.8f}, p.grad().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {9, 9, 3, 4}, all.toFloatArray(), 0f, "the viewed tensor is left alone");
        p.setGrad(all.select(0, 0));
        new SGD(List.of(p), 0.5).step();
        assertArrayEquals(new float[] {-3.5f, -3.5f}, p.toFloatArray(), 0f);
    }

    @Test
    void schedulesAreFunctionsOfTheStep() {
        LRSchedule step = LRSchedule.stepLR(3, 0.1);
        double[] want = {1, 1, 1, 0.1, 0.1, 0.1, 0.01};
        for (int t = 0; t < want.length; t++) assertEquals(want[t], step.factor(t), 1e-12, "stepLR at " + t);

        LRSchedule wc = LRSchedule.warmupCosine(4, 14, 0.1);
        assertEquals(0.2, wc.factor(0), 1e-12);
        assertEquals(0.8, wc.factor(3), 1e-12);
        assertEquals(1.0, wc.factor(4), 1e-12);
        assertEquals(0.55, wc.factor(9), 1e-12); // halfway through the cosine
        assertEquals(0.1, wc.factor(14), 1e-12);
        assertEquals(0.1, wc.factor(1000), 1e-12);
        for (int t = 5; t < 14; t++) assertTrue(wc.factor(t) < wc.factor(t - 1), "cosine decays at " + t);

        assertEquals(1, LRSchedule.constant().factor(12345));
        assertThrows(IllegalArgumentException.class, () -> LRSchedule.stepLR(0, 0.5));
        assertThrows(IllegalArgumentException.class, () -> LRSchedule.warmupCosine(10, 5, 0));

        // apply scales each group's initial lr
        List<Tensor> ps = params();
        Optimizer opt = new SGD(List.of(new ParamGroup(ps.subList(0, 1), 0.5, 0), new ParamGroup(ps.subList(1, 2), 0.05, 0)), 0, 0, false);
        step.apply(opt, 4);
        assertEquals(0.05, opt.paramGroups().get(0).lr, 1e-12);
        assertEquals(0.005, opt.paramGroups().get(1).lr, 1e-12);
        step.apply(opt, 0);
        assertEquals(0.5, opt.paramGroups().get(0).lr, 1e-12);
    }
}
