package dev.kindling.distributed;

import static dev.kindling.distributed.TrainingFixture.BATCH;
import static dev.kindling.distributed.TrainingFixture.STEPS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DistributedDataParallelTest {
    @ParameterizedTest
    @ValueSource(strings = {"sgd", "adamw"})
    void twoRanksWithHalfBatchesMatchOneProcessWithTheWholeBatch(String optimizer) throws Exception {
        float[] reference = TrainingFixture.trainSingle(optimizer);
        List<float[]> ranks = LocalCluster.run(2, pg -> {
            // rank 1 starts from different weights: the constructor's broadcast must replace them with rank 0's
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1 + pg.rank()), pg);
            Optimizer opt = TrainingFixture.optimizer(optimizer, ddp.parameters());
            int half = BATCH / 2;
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, pg.rank() * half, (pg.rank() + 1) * half)).backward();
                ddp.syncGradients();
                opt.step();
            }
            return TrainingFixture.flatten(ddp.module());
        });
        TrainingFixture.assertClose(reference, ranks.get(0), 1e-5, optimizer + " rank 0");
        assertEquals(Arrays.toString(ranks.get(0)), Arrays.toString(ranks.get(1)), "replicas must stay bit-identical");
    }

    @Test
    void noSyncAccumulatesMicroBatchesAndSyncsOnce() throws Exception {
        float[] reference = TrainingFixture.trainSingle("adamw");
        List<float[]> ranks = LocalCluster.run(2, pg -> {
            // tiny buckets: every parameter gets its own all-reduce
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1), pg, 64);
            assertEquals(4, ddp.bucketCount());
            Optimizer opt = TrainingFixture.optimizer("adamw", ddp.parameters());
            int quarter = BATCH / 4;
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                int first = pg.rank() * 2 * quarter;
                try (var scope = ddp.noSync()) {
                    TrainingFixture.loss(ddp, TrainingFixture.batch(s, first, first + quarter)).mul(0.5).backward();
                    ddp.syncGradients(); // ignored inside the scope
                }
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, first + quarter, first + 2 * quarter)).mul(0.5).backward();
                ddp.syncGradients();
                opt.step();
            }
            return TrainingFixture.flatten(ddp.module());
        });
        TrainingFixture.assertClose(reference, ranks.get(0), 1e-5, "accumulated rank 0");
        TrainingFixture.assertClose(reference, ranks.get(1), 1e-5, "accumulated rank 1");
    }

    @Test
    void parametersWithoutAGradientAnywhereKeepNone() throws Exception {
        LocalCluster.run(3, pg -> {
            Module unused = new Linear(2, 2);
            Module both = new dev.kindling.nn.Sequential(new Linear(2, 2), unused);
            var ddp = new DistributedDataParallel(both, pg);
            Linear first = (Linear) ((dev.kindling.nn.Sequential) both).get(0);
            // only rank 0 computes a gradient for the first layer; the others count as zeros
            if (pg.rank() == 0) first.forward(Tensor.ones(1, 2)).sum().backward();
            ddp.syncGradients();
            float[] g = first.bias.grad().toFloatArray();
            assertEquals(1f / 3, g[0], 1e-7);
            assertNull(((Linear) unused).weight.grad());
            return null;
        });
    }
}
