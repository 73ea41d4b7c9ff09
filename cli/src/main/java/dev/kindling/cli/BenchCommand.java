package dev.kindling.cli;

import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.Parallel;
import java.util.Arrays;
import java.util.Random;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kindling bench <what>}: quick figures anyone can check on their own machine. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure kernels on this machine.",
        subcommands = {BenchCommand.Matmul.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** sgemm GFLOP/s as one JSON line (median of the timed repetitions). */
    @Command(name = "matmul", mixinStandardHelpOptions = true, description = "sgemm n x n x n; prints GFLOP/s as one JSON line.")
    static final class Matmul implements Runnable {
        @Option(names = "--size", defaultValue = "1024", description = "Matrix size n (default ${DEFAULT-VALUE}).")
        int n;
        @Option(names = "--threads", description = "Kernel threads (default: all cores).")
        Integer threads;
        @Option(names = "--reps", defaultValue = "10", description = "Timed repetitions (default ${DEFAULT-VALUE}).")
        int reps;

        @Override
        public void run() {
            if (n <= 0) throw new IllegalArgumentException("--size must be positive, got " + n);
            if (reps <= 0) throw new IllegalArgumentException("--reps must be positive, got " + reps);
            if (threads != null) Parallel.setThreads(threads);
            float[] a = random(n * n, 1), b = random(n * n, 2), c = new float[n * n];
            long budget = System.nanoTime() + 2_000_000_000L; // warm up the JIT for up to 2 s
            for (int i = 0; i < 3 || (i < 50 && System.nanoTime() < budget); i++) gemm(a, b, c);
            double[] ms = new double[reps];
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                gemm(a, b, c);
                ms[r] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(ms);
            double median = ms[reps / 2];
            double gflops = 2.0 * n * n * n / (median * 1e6);
            System.out.printf("{\"bench\":\"matmul\",\"n\":%d,\"threads\":%d,\"median_ms\":%.3f,\"gflops\":%.1f}%n",
                    n, Parallel.threads(), median, gflops);
        }

        private void gemm(float[] a, float[] b, float[] c) {
            Gemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
        }

        private static float[] random(int len, long seed) {
            Random r = new Random(seed);
            float[] x = new float[len];
            for (int i = 0; i < len; i++) x[i] = r.nextFloat() - 0.5f;
            return x;
        }
    }
}
