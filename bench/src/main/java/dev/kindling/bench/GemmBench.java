package dev.kindling.bench;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.Parallel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmark of {@link Gemm#sgemm}: C = A op(B) on n x n matrices (transB = the layout of a linear layer's
 * weight), plus the m = 1 matrix-vector path. Time per call; GFLOP/s = 2 n^3 / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {
    @Param({"256", "512", "1024"})
    public int n;

    @Param({"false", "true"})
    public boolean transB;

    @Param({"2"})
    public int threads;

    private float[] a, b, c, x, y;

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        var rnd = new SplittableRandom(1);
        a = new float[n * n];
        b = new float[n * n];
        c = new float[n * n];
        x = new float[n];
        y = new float[n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble();
            b[i] = (float) rnd.nextDouble();
        }
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextDouble();
    }

    @Benchmark
    public float[] sgemm() {
        Gemm.sgemm(false, transB, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
        return c;
    }

    @Benchmark
    public float[] gemv() {
        Gemm.sgemm(false, transB, 1, n, n, 1f, x, 0, n, b, 0, n, 0f, y, 0, n);
        return y;
    }
}
