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

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void parallelTransformerBlockMatchesItsTwinForwardAndBackward(int n) throws Exception {
        // sharded matmuls sum in another order than the twin's, and a block chains a dozen of them: 1e-4 relative
        double tol = 1e-4;
        int e = 8, heads = 4, b = 2, t = 5; // 4 heads over 3 ranks: 2, 1, 1; 32 MLP features: 11, 11, 10
        var twin = new dev.kindling.nn.TransformerBlock(e, heads, 0.0, true, new Generator(3));
        Tensor x = Tensor.randn(new Generator(4), b, t, e).requiresGrad(true);
        Tensor up = Tensor.randn(new Generator(5), b, t, e);
        Tensor y = twin.forward(x);
        y.backward(up);
        var ref = twin.namedParameters();
        float[] yRef = y.toFloatArray(), dxRef = x.grad().toFloatArray();

        LocalCluster.run(n, pg -> {
            var block = new TensorParallelTransformerBlock(new dev.kindling.nn.TransformerBlock(e, heads, 0.0, true, new Generator(3)), heads, true, pg);
            Tensor xr = Tensor.randn(new Generator(4), b, t, e).requiresGrad(true);
            Tensor yr = block.forward(xr);
            yr.backward(up);
            String who = "rank " + pg.rank() + " of " + n;
            TrainingFixture.assertClose(yRef, yr.toFloatArray(), tol, who + " output");
            TrainingFixture.assertClose(dxRef, xr.grad().toFloatArray(), tol, who + " input gradient");
            var mine = block.namedParameters();
            TrainingFixture.assertClose(ref.get("ln_1.weight").grad().toFloatArray(), mine.get("ln_1.weight").grad().toFloatArray(), tol, who + " ln_1.weight grad");
            int hs = e / heads, h0 = ProcessGroup.shardStart(heads, n, pg.rank()), hn = ProcessGroup.shardLength(heads, n, pg.rank());
            Tensor inGrad = ref.get("attn.in_proj_weight").grad();
            TrainingFixture.assertClose(inGrad.narrow(0, h0 * hs, hn * hs).toFloatArray(), mine.get("q_weight").grad().toFloatArray(), tol, who + " q grad");
            TrainingFixture.assertClose(inGrad.narrow(0, 2 * e + h0 * hs, hn * hs).toFloatArray(), mine.get("v_weight").grad().toFloatArray(), tol, who + " v grad");
            TrainingFixture.assertClose(ref.get("attn.out_proj.weight").grad().narrow(1, h0 * hs, hn * hs).toFloatArray(),
                    mine.get("attn_out.weight").grad().toFloatArray(), tol, who + " out_proj grad");
            int f0 = ProcessGroup.shardStart(4 * e, n, pg.rank()), fn = ProcessGroup.shardLength(4 * e, n, pg.rank());
            TrainingFixture.assertClose(ref.get("mlp.0.weight").grad().narrow(0, f0, fn).toFloatArray(), mine.get("mlp_fc.weight").grad().toFloatArray(), tol, who + " mlp.0 grad");
            TrainingFixture.assertClose(ref.get("mlp.2.bias").grad().toFloatArray(), mine.get("mlp_proj.bias").grad().toFloatArray(), tol, who + " mlp.2.bias grad");
            return null;
        });
    }
}
