package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.kindling.kernels.Parallel;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The registry uses tiny shapes, which always run serially. Here inputs are just above the serial threshold,
 * so the loops split rows (and single long rows) over the pool; the results must equal the one-thread run.
 */
class ParallelPathsTest {
    private final int saved = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(saved);
    }

    private static void sameOnOneAndFourThreads(String op, Function<List<Tensor>, Tensor> fn, Tensor... inputs) {
        List<Tensor> in = List.of(inputs);
        Parallel.setThreads(1);
        Tensor serial = fn.apply(in);
        Parallel.setThreads(4);
        Tensor parallel = fn.apply(in);
        assertArrayEquals(serial.shape(), parallel.shape(), op);
        // vector and scalar exp may differ in the last bit where a split moves the vector loop's tail
        OpRegistryTest.assertClose(op, serial.toFloatArray(), parallel.toFloatArray(), 1e-6, 0);
    }

    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Generator(seed), shape);
    }

    @Test
    void elementwiseLoopsSplitRowsAndLongRows() {
        Tensor a = randn(1, 300, 257), b = randn(2, 257), col = randn(3, 300, 1);
        sameOnOneAndFourThreads("add broadcast", in -> in.get(0).add(in.get(1)), a, b);
        sameOnOneAndFourThreads("mul both sides", in -> in.get(0).mul(in.get(1)), col, b);
        sameOnOneAndFourThreads("sub transposed", in -> in.get(0).t().sub(in.get(1)), a, randn(4, 257, 300));
        sameOnOneAndFourThreads("exp strided", in -> in.get(0).slice(1, 1, 257, 2).exp(), a);
        sameOnOneAndFourThreads("exp one long row", in -> in.get(0).exp(), randn(5, 1, 70_000));
        sameOnOneAndFourThreads("pow long row", in -> in.get(0).abs().pow(1.5), randn(6, 70_000));
        sameOnOneAndFourThreads("where", in -> Tensor.where(in.get(0).gt(0), in.get(0), in.get(1)), a, b);
        sameOnOneAndFourThreads("contiguous", in -> in.get(0).t().contiguous(), a);
    }

    @Test
    void reductionsSoftmaxAndMatmul() {
        Tensor a = randn(7, 300, 257);
        sameOnOneAndFourThreads("sum dim", in -> in.get(0).sum(1), a);
        sameOnOneAndFourThreads("sum dim 0", in -> in.get(0).sum(0), a);
        sameOnOneAndFourThreads("sum all", in -> in.get(0).sum(), a);
        sameOnOneAndFourThreads("softmax", in -> in.get(0).softmax(-1), a);
        sameOnOneAndFourThreads("softmax dim 0", in -> in.get(0).logSoftmax(0), a);
        sameOnOneAndFourThreads("matmul", in -> in.get(0).matmul(in.get(1)), randn(8, 130, 70), randn(9, 70, 90));
        sameOnOneAndFourThreads("matmul batched transposed", in -> in.get(0).matmul(in.get(1).transpose(-1, -2)),
                randn(10, 3, 60, 80), randn(11, 3, 50, 80));
    }

    @Test
    void backwardOnLargeInputs() {
        sameOnOneAndFourThreads("grad of softmax-matmul", in -> {
            Tensor x = in.get(0).detach().requiresGrad(true), w = in.get(1).detach().requiresGrad(true);
            x.matmul(w).softmax(-1).mul(in.get(2)).sum().backward();
            return Tensor.cat(List.of(x.grad().flatten(), w.grad().flatten()), 0);
        }, randn(12, 200, 64), randn(13, 64, 180), randn(14, 200, 180));
    }

    @Test
    void elementwiseResultsMatchAScalarReference() {
        Parallel.setThreads(4);
        Tensor a = randn(15, 200, 300), b = randn(16, 300);
        float[] out = a.t().contiguous().t().mul(b).toFloatArray();   // a non-contiguous operand on the parallel path
        float[] av = a.toFloatArray(), bv = b.toFloatArray();
        float[] expected = new float[out.length];
        for (int i = 0; i < 200; i++)
            for (int j = 0; j < 300; j++) expected[i * 300 + j] = av[i * 300 + j] * bv[j];
        assertArrayEquals(expected, out);
    }
}
