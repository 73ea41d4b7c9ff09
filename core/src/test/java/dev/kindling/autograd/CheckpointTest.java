package dev.kindling.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.kindling.nn.TransformerBlock;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class CheckpointTest {
    /** Runs the loss twice, plain and checkpointed, and returns the gradients of the params (and of x) each time. */
    private static List<float[]> grads(List<Tensor> params, Tensor x, Supplier<Tensor> loss) {
        for (Tensor p : params) p.zeroGrad();
        x.zeroGrad();
        loss.get().backward();
        List<float[]> out = new ArrayList<>();
        for (Tensor p : params) out.add(p.grad().toFloatArray());
        out.add(x.grad().toFloatArray());
        return out;
    }

    private static void assertSameGrads(List<float[]> plain, List<float[]> ckpt) {
        assertEquals(plain.size(), ckpt.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), ckpt.get(i), "gradient " + i + " differs");
    }

    @Test
    void transformerBlocksGiveExactlyThePlainGradients() {
        Generator g = new Generator(1);
        var blocks = List.of(new TransformerBlock(8, 2, 0.0, true, g), new TransformerBlock(8, 2, 0.0, true, g));
        List<Tensor> params = new ArrayList<>();
        blocks.forEach(b -> params.addAll(b.parameters()));
        Tensor x = Tensor.randn(new Generator(2), 2, 5, 8).requiresGrad(true);
        List<float[]> plain = grads(params, x, () -> {
            Tensor h = x;
            for (var b : blocks) h = b.forward(h);
            return h.pow(2).mean();
        });
        List<float[]> ckpt = grads(params, x, () -> {
            Tensor h = x.mul(1); // a non-leaf input, as between blocks
            for (var b : blocks) h = Checkpoint.checkpoint(in -> b.forward(in[0]), h);
            assertEquals("checkpoint", h.gradFnName());
            return h.pow(2).mean();
        });
        assertSameGrads(plain, ckpt);
    }

    @Test
    void dropoutMasksAndAutocastAreReplayedInTheRecomputation() {
        Generator g = new Generator(3);
        Tensor w = Tensor.randn(g, 6, 6).requiresGrad(true), x = Tensor.randn(g, 4, 6).requiresGrad(true);
        java.util.function.Function<Tensor[], Tensor> fn = in -> in[0].matmul(w).gelu().dropout(0.5, true, Generator.global());
        for (DType cast : new DType[] {null, DType.BF16}) {
            Generator.global().manualSeed(9);
            List<float[]> plain = grads(List.of(w), x, () -> {
                try (var ac = cast == null ? Autocast.disabled() : Autocast.enable(cast)) {
                    return fn.apply(new Tensor[] {x}).to(DType.FLOAT32).sum();
                }
            });
            Generator.global().manualSeed(9);
            List<float[]> ckpt = grads(List.of(w), x, () -> {
                try (var ac = cast == null ? Autocast.disabled() : Autocast.enable(cast)) {
                    return Checkpoint.checkpoint(fn, x).to(DType.FLOAT32).sum();
                }
            });
            assertSameGrads(plain, ckpt);
        }
    }

    @Test
    void otherGeneratorsAreReplayedWhenNamed() {
        Generator own = new Generator(5);
        Tensor x = Tensor.randn(new Generator(6), 50).requiresGrad(true);
        java.util.function.Function<Tensor[], Tensor> fn = in -> in[0].dropout(0.5, true, own);
        own.manualSeed(1);
        x.zeroGrad();
        fn.apply(new Tensor[] {x}).sum().backward();
        float[] plain = x.grad().toFloatArray();
        own.manualSeed(1);
        x.zeroGrad();
        Checkpoint.checkpoint(fn, List.of(own), x).sum().backward();
        assertArrayEquals(plain, x.grad().toFloatArray());
    }

    @Test
    void keepsNoGraphInsideAndRunsPlainlyWithoutGradients() {
        Tensor w = Tensor.ones(3, 3).requiresGrad(true), x = Tensor.ones(2, 3).requiresGrad(true);
        Tensor y = Checkpoint.checkpoint(in -> in[0].matmul(w).relu().mul(2), x);
        assertEquals("checkpoint", y.gradFnName()); // one node: the inner ops left no graph behind
        try (var off = Grad.disabled()) {
            assertNull(Checkpoint.checkpoint(in -> in[0].matmul(w), x).gradFnName());
        }
        Tensor data = Tensor.ones(2, 3); // no input needs a gradient: the function runs as is and w still gets one
        Tensor z = Checkpoint.checkpoint(in -> in[0].matmul(w), data);
        assertEquals("matmul", z.gradFnName());
        Tensor same = Checkpoint.checkpoint(in -> in[0], x); // returning an input is allowed
        assertFalse(same == x);
        same.sum().backward();
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, x.grad().toFloatArray());
    }
}
