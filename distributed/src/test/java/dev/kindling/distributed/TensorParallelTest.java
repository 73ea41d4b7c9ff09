package dev.kindling.distributed;

import dev.kindling.nn.Linear;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Column- then row-parallel Linear (a Megatron MLP) against its single-process twin, forward and backward. */
class TensorParallelTest {
    private static final int IN = 5, HIDDEN = 7, OUT = 3, BATCH = 4; // 7 hidden features: uneven shards

    private static Tensor input() {
        return Tensor.randn(new Generator(9), BATCH, IN).requiresGrad(true);
    }

    private static Tensor upstream() {
        return Tensor.randn(new Generator(10), BATCH, OUT);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void parallelMlpMatchesItsTwinForwardAndBackward(int n) throws Exception {
        Linear fc1 = new Linear(IN, HIDDEN, true, new Generator(1)), fc2 = new Linear(HIDDEN, OUT, true, new Generator(2));
        Tensor x = input();
        Tensor y = fc2.forward(fc1.forward(x).relu());
        y.backward(upstream());
        float[] yRef = y.toFloatArray(), dxRef = x.grad().toFloatArray();

        List<Object> ok = LocalCluster.run(n, pg -> {
            var col = new ColumnParallelLinear(IN, HIDDEN, true, new Generator(1), pg);
            var row = new RowParallelLinear(HIDDEN, OUT, true, new Generator(2), pg);
            Tensor xr = input();
            Tensor yr = row.forward(col.forward(xr).relu());
            yr.backward(upstream());
            String who = "rank " + pg.rank() + " of " + n;
            TrainingFixture.assertClose(yRef, yr.toFloatArray(), 1e-5, who + " output");
            TrainingFixture.assertClose(dxRef, xr.grad().toFloatArray(), 1e-5, who + " input gradient");
            int c = col.shardStart, cl = col.shardLength;
            TrainingFixture.assertClose(fc1.weight.grad().narrow(0, c, cl).toFloatArray(), col.weight.grad().toFloatArray(), 1e-5, who + " fc1.weight grad");
            TrainingFixture.assertClose(fc1.bias.grad().narrow(0, c, cl).toFloatArray(), col.bias.grad().toFloatArray(), 1e-5, who + " fc1.bias grad");
            TrainingFixture.assertClose(fc2.weight.grad().narrow(1, row.shardStart, row.shardLength).toFloatArray(),
                    row.weight.grad().toFloatArray(), 1e-5, who + " fc2.weight grad");
            TrainingFixture.assertClose(fc2.bias.grad().toFloatArray(), row.bias.grad().toFloatArray(), 1e-5, who + " fc2.bias grad");
            return "ok";
        });
        if (ok.size() != n) throw new AssertionError(ok);
    }
}
