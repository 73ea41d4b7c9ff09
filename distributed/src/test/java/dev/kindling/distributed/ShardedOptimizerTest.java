package dev.kindling.distributed;

import static dev.kindling.distributed.TrainingFixture.BATCH;
import static dev.kindling.distributed.TrainingFixture.STEPS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.kindling.nn.Module;
import dev.kindling.optim.AdamW;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ShardedOptimizerTest {
    @ParameterizedTest
    @CsvSource({"ONE, sgd, 2", "ONE, adamw, 2", "TWO, sgd, 2", "TWO, adamw, 2", "TWO, adamw, 4", "ONE, adamw, 4"})
    void shardedTrainingMatchesOneProcessWithTheWholeBatch(ShardedOptimizer.Stage stage, String optimizer, int n) throws Exception {
        float[] reference = TrainingFixture.trainSingle(optimizer);
        List<float[]> ranks = LocalCluster.run(n, pg -> {
            Module m = TrainingFixture.mlp(1 + pg.rank()); // unequal start: the constructor broadcasts rank 0's
            var opt = new ShardedOptimizer(m.parameters(), pg, stage, p -> TrainingFixture.optimizer(optimizer, p));
            int part = BATCH / n;
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                TrainingFixture.loss(m, TrainingFixture.batch(s, pg.rank() * part, (pg.rank() + 1) * part)).backward();
                opt.step();
                if (stage == ShardedOptimizer.Stage.TWO) assertNull(m.parameters().get(0).grad());
            }
            return TrainingFixture.flatten(m);
        });
        for (int r = 0; r < n; r++) {
            TrainingFixture.assertClose(reference, ranks.get(r), 1e-5, stage + " " + optimizer + " rank " + r);
            assertEquals(Arrays.toString(ranks.get(0)), Arrays.toString(ranks.get(r)));
        }
    }

    @Test
    void optimizerStatePerRankFallsAsOneOverTheWorldSize() throws Exception {
        int params = TrainingFixture.flatten(TrainingFixture.mlp(1)).length; // 6*16+16+16*4+4 = 180
        for (int n : new int[] {1, 2, 3, 4}) {
            List<long[]> state = LocalCluster.run(n, pg -> {
                Module m = TrainingFixture.mlp(1);
                var opt = new ShardedOptimizer(m.parameters(), pg, ShardedOptimizer.Stage.ONE, p -> new AdamW(p, 1e-3));
                TrainingFixture.loss(m, TrainingFixture.batch(0, 0, BATCH)).backward();
                opt.step();
                return new long[] {opt.stateFloats(), opt.shardLength()};
            });
            long sum = 0;
            for (int r = 0; r < n; r++) {
                // AdamW: exp_avg and exp_avg_sq for each element of the shard
                assertEquals(2L * ProcessGroup.shardLength(params, n, r), state.get(r)[0]);
                sum += state.get(r)[0];
            }
            assertEquals(2L * params, sum);
            System.out.printf("ZeRO AdamW state per rank, %d parameters, world %d: %d floats (%d bytes)%n",
                    params, n, state.get(0)[0], 4 * state.get(0)[0]);
        }
    }

    @Test
    void moreRanksThanParametersStillWorks() throws Exception {
        List<float[]> ranks = LocalCluster.run(3, pg -> {
            var w = dev.kindling.tensor.Tensor.fromArray(new float[] {1f, 2f}, 2).requiresGrad(true);
            var opt = new ShardedOptimizer(List.of(w), pg, ShardedOptimizer.Stage.TWO, p -> new dev.kindling.optim.SGD(p, 0.5));
            w.mul(dev.kindling.tensor.Tensor.fromArray(new float[] {pg.rank(), 1f}, 2)).sum().backward();
            opt.step();
            return w.toFloatArray();
        });
        // mean gradient (1, 1): w - 0.5 * g
        for (float[] w : ranks) assertEquals("[0.5, 1.5]", Arrays.toString(w));
    }

    @Test
    void stateDictsMoveBetweenShardedAndSingleProcessOptimizers() throws Exception {
        // 10 AdamW steps in one process, then its parameters and optimizer state loaded into 2 sharded ranks for
        // the other 10: they must end where 20 uninterrupted steps end, and their gathered state must load
        // back into a single-process optimizer
        Module solo = TrainingFixture.mlp(1);
        var plain = new AdamW(solo.parameters(), 0.01, 0.1);
        for (int s = 0; s < 10; s++) {
            plain.zeroGrad();
            TrainingFixture.loss(solo, TrainingFixture.batch(s, 0, BATCH)).backward();
            plain.step();
        }
        var soloState = plain.stateDict();
        var soloParams = solo.stateDict();
        float[] reference = TrainingFixture.trainSingle("adamw");
        List<Object[]> out = LocalCluster.run(2, pg -> {
            Module m = TrainingFixture.mlp(7);
            m.loadStateDict(soloParams);
            var opt = new ShardedOptimizer(m.parameters(), pg, ShardedOptimizer.Stage.TWO, p -> new AdamW(p, 0.01, 0.1));
            opt.loadStateDict(soloState);
            for (int s = 10; s < STEPS; s++) {
                opt.zeroGrad();
                TrainingFixture.loss(m, TrainingFixture.batch(s, pg.rank() * BATCH / 2, (pg.rank() + 1) * BATCH / 2)).backward();
                opt.step();
            }
            return new Object[] {TrainingFixture.flatten(m), opt.stateDict()};
        });
        TrainingFixture.assertClose(reference, (float[]) out.get(0)[0], 1e-5, "resumed sharded run");
        @SuppressWarnings("unchecked")
        var gathered = (java.util.Map<String, dev.kindling.tensor.Tensor>) out.get(1)[1];
        var back = new AdamW(TrainingFixture.mlp(1).parameters(), 0.01, 0.1);
        back.loadStateDict(gathered); // the single-process layout: loads without complaint
        assertEquals(20, back.stepCount());
        assertEquals(soloState.keySet(), gathered.keySet());
    }

    private static List<dev.kindling.optim.ParamGroup> decayGroups(Module m) {
        List<dev.kindling.tensor.Tensor> decay = new java.util.ArrayList<>(), none = new java.util.ArrayList<>();
        for (var p : m.parameters()) (p.dim() >= 2 ? decay : none).add(p);
        return List.of(new dev.kindling.optim.ParamGroup(decay, 0.02, 0.1), new dev.kindling.optim.ParamGroup(none, 0.02, 0));
    }

    @ParameterizedTest
    @CsvSource({"ONE, 2", "TWO, 3"})
    void parameterGroupsAndGradientClippingMatchOneProcess(ShardedOptimizer.Stage stage, int n) throws Exception {
        // nanoGPT's setup: weight decay for matrices only, gradients clipped to norm 0.5 (they start above it)
        Module solo = TrainingFixture.mlp(1);
        var plain = new AdamW(decayGroups(solo), 0.9, 0.99, 1e-8);
        double[] norms = new double[STEPS];
        for (int s = 0; s < STEPS; s++) {
            plain.zeroGrad();
            TrainingFixture.loss(solo, TrainingFixture.batch(s, 0, BATCH)).backward();
            norms[s] = dev.kindling.optim.GradClip.clipGradNorm(solo.parameters(), 0.5);
            plain.step();
        }
        float[] reference = TrainingFixture.flatten(solo);
        var plainState = plain.stateDict();
        List<Object[]> ranks = LocalCluster.run(n, pg -> {
            Module m = TrainingFixture.mlp(1);
            var opt = ShardedOptimizer.ofGroups(decayGroups(m), pg, stage, g -> new AdamW(g, 0.9, 0.99, 1e-8));
            opt.setMaxGradNorm(0.5);
            double firstNorm = 0;
            int part = BATCH / n, extra = BATCH % n; // 8 rows over 3 ranks: 3, 3, 2, each weighted by its share
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                int from = pg.rank() * part + Math.min(pg.rank(), extra), to = from + part + (pg.rank() < extra ? 1 : 0);
                TrainingFixture.loss(m, TrainingFixture.batch(s, from, to)).mul((double) n * (to - from) / BATCH).backward();
                opt.step();
                if (s == 0) firstNorm = opt.lastGradNorm();
            }
            return new Object[] {TrainingFixture.flatten(m), opt.stateDict(), firstNorm};
        });
        for (int r = 0; r < n; r++) {
            TrainingFixture.assertClose(reference, (float[]) ranks.get(r)[0], 1e-5, stage + " groups rank " + r);
            assertEquals(norms[0], (double) ranks.get(r)[2], 1e-5 * norms[0]);
        }
        assertTrue(norms[0] > 0.5, "the test must clip: first norm " + norms[0]);
        @SuppressWarnings("unchecked")
        var gathered = (java.util.Map<String, dev.kindling.tensor.Tensor>) ranks.get(0)[1];
        assertEquals(plainState.keySet(), gathered.keySet());
        var back = new AdamW(decayGroups(TrainingFixture.mlp(1)), 0.9, 0.99, 1e-8);
        back.loadStateDict(gathered);
        float[] a = plainState.get("1.1.exp_avg_sq").toFloatArray(), b = gathered.get("1.1.exp_avg_sq").toFloatArray();
        TrainingFixture.assertClose(a, b, 1e-4, "gathered exp_avg_sq of the second bias");
    }
}
