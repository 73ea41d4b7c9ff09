package dev.kindling.bench;

import dev.kindling.io.Json;
import dev.kindling.kernels.Gemm;
import dev.kindling.kernels.Parallel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Square sgemm, Kindling against numpy.matmul and torch.mm measured in the same run: for each n, Kindling's
 * {@link Gemm#sgemm} is warmed up and timed (median of the repetitions), then {@code bench/reference/sgemm.py}
 * runs under the tuned reference launcher and a table of GFLOP/s and ratios is printed.
 *
 * <p>Sizes are measured one after the other, each first for Kindling and then for the reference.
 * Run from the repository root (see bench/README.md). Options: {@code --sizes 256,512,...}, {@code --reps 5},
 * {@code --threads 2}, {@code --no-reference}, {@code --launcher PATH} (default {@code ../shared/reference/run-tuned}),
 * {@code --python PATH} (default {@code /usr/bin/python3}).
 */
public final class MatmulSideBySide {
    private MatmulSideBySide() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        int[] sizes = {256, 512, 1024, 2048, 4096};
        int reps = 5, threads = 2;
        boolean reference = true;
        String launcher = "../shared/reference/run-tuned", python = "/usr/bin/python3";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--no-reference" -> reference = false;
                case "--launcher" -> launcher = args[++i];
                case "--python" -> python = args[++i];
                default -> throw new IllegalArgumentException("MatmulSideBySide: unknown option '" + args[i]
                        + "' (--sizes, --reps, --threads, --no-reference, --launcher, --python)");
            }
        }
        if (reps < 1) throw new IllegalArgumentException("MatmulSideBySide: --reps must be >= 1, got " + reps);
        Parallel.setThreads(threads);
        System.out.printf("Kindling sgemm, %d threads, %d reps (median), %s%n", threads, reps, engineDescription());

        // Each size is measured for Kindling and then at once for the reference, so that both see the same
        // machine: on a shared host the load changes from one minute to the next.
        Map<Integer, double[]> ours = new LinkedHashMap<>(); // n -> {GFLOP/s, bytes allocated per call}
        Map<String, Map<Integer, Double>> ref = new LinkedHashMap<>(), refCpu = new LinkedHashMap<>();
        boolean first = true;
        for (int n : sizes) {
            ours.put(n, timeKindling(n, reps, first ? 3.0 : 1.0));
            first = false;
            System.out.printf("  kindling n=%-5d %8.1f GFLOP/s  %8.1f GFLOP per CPU-second  %.0f bytes allocated per call%n",
                    n, ours.get(n)[0], ours.get(n)[2], ours.get(n)[1]);
            if (reference && !runReference(launcher, python, n, reps, threads, ref, refCpu)) reference = false;
        }

        System.out.println();
        System.out.println("Wall-clock GFLOP/s (median of the repetitions) and ratios:");
        table(sizes, ours, 0, ref);
        System.out.println();
        System.out.println("GFLOP per second of process CPU time (robust to other load; includes idle spinning):");
        table(sizes, ours, 2, refCpu);
    }

    private static void table(int[] sizes, Map<Integer, double[]> ours, int column, Map<String, Map<Integer, Double>> ref) {
        System.out.println("|     n |   Kindling |      numpy |      torch | Kindling/numpy | Kindling/torch |");
        System.out.println("|------:|-----------:|-----------:|-----------:|---------------:|---------------:|");
        for (int n : sizes) {
            double k = ours.get(n)[column];
            Double np = ref.getOrDefault("numpy", Map.of()).get(n), th = ref.getOrDefault("torch", Map.of()).get(n);
            System.out.printf("| %5d | %10.1f | %10s | %10s | %14s | %14s |%n", n, k, fmt(np, "%.1f"), fmt(th, "%.1f"),
                    np == null ? "-" : String.format("%.2fx", k / np), th == null ? "-" : String.format("%.2fx", k / th));
        }
    }

    private static String fmt(Double v, String f) {
        return v == null ? "-" : String.format(f, v);
    }

    /** Kindling's engine description (vector width, tile, blocks), read through the package-private hook. */
    private static String engineDescription() {
        try {
            var m = Gemm.class.getDeclaredMethod("describe");
            m.setAccessible(true);
            return (String) m.invoke(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "engine description unavailable";
        }
    }

    /**
     * {median GFLOP/s, heap bytes allocated per call by all threads, GFLOP per second of process CPU time} for
     * C = A B with n x n matrices. The last one is the work done per CPU second whatever else runs on the machine.
     */
    static double[] timeKindling(int n, int reps, double warmupSeconds) {
        var rnd = new SplittableRandom(n);
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble();
            b[i] = (float) rnd.nextDouble();
        }
        Runnable call = () -> Gemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
        // Warm up until the JIT has settled: the micro-kernel is compiled (and sometimes recompiled) by C2 only
        // after it has run a while, and before that it runs in the interpreter or C1, which box every vector.
        // So: at least warmupSeconds, then on until a call allocates no more than its few task objects (a
        // starved JIT on a busy machine can take much longer than usual), for at most a minute.
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long start = System.nanoTime(), warmEnd = start + (long) (warmupSeconds * 1e9), giveUp = start + 60_000_000_000L;
        int calls = 0;
        long allocated = Long.MAX_VALUE;
        while (calls < 5 || System.nanoTime() < warmEnd || (allocated > 4096 && System.nanoTime() < giveUp)) {
            long before = mx.getTotalThreadAllocatedBytes();
            call.run();
            allocated = mx.getTotalThreadAllocatedBytes() - before;
            calls++;
        }
        long t0 = System.nanoTime();
        call.run();
        double perCall = Math.max(1, System.nanoTime() - t0);
        int inner = (int) Math.max(1, 2e8 / perCall); // each repetition lasts at least 0.2 s
        double[] rates = new double[reps];
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long bytes0 = mx.getTotalThreadAllocatedBytes(), cpu0 = os.getProcessCpuTime();
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            for (int i = 0; i < inner; i++) call.run();
            rates[r] = 2.0 * n * n * n * inner / (System.nanoTime() - t);
        }
        double bytesPerCall = (double) (mx.getTotalThreadAllocatedBytes() - bytes0) / ((long) reps * inner);
        double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
        Arrays.sort(rates);
        return new double[] {rates[reps / 2], bytesPerCall, 2.0 * n * n * n * inner * reps / cpuSeconds / 1e9};
    }

    /** Runs bench/reference/sgemm.py for one size into out/outCpu (impl -> n -> GFLOP/s); false if it cannot run. */
    private static boolean runReference(String launcher, String python, int n, int reps, int threads,
                                        Map<String, Map<Integer, Double>> out, Map<String, Map<Integer, Double>> outCpu)
            throws IOException, InterruptedException {
        Path script = Path.of("bench/reference/sgemm.py");
        if (!Files.exists(script)) {
            System.out.println("reference skipped: " + script + " not found (run from the repository root)");
            return false;
        }
        List<String> cmd = new ArrayList<>(List.of(launcher, python, script.toString(), "--threads",
                String.valueOf(threads), "--reps", String.valueOf(reps), "--sizes", String.valueOf(n)));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            System.out.println("reference skipped: cannot start " + launcher + ": " + e.getMessage());
            return false;
        }
        try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.startsWith("{")) continue;
                @SuppressWarnings("unchecked")
                var row = (Map<String, Object>) Json.parse(line);
                String impl = (String) row.get("impl");
                double g = ((Number) row.get("gflops")).doubleValue();
                double perCpu = ((Number) row.get("gflop_per_cpu_s")).doubleValue();
                out.computeIfAbsent(impl, x -> new LinkedHashMap<>()).put(n, g);
                outCpu.computeIfAbsent(impl, x -> new LinkedHashMap<>()).put(n, perCpu);
                System.out.printf("  %-8s n=%-5d %8.1f GFLOP/s  %8.1f GFLOP per CPU-second%n", impl, n, g, perCpu);
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            System.out.println("reference (" + String.join(" ", cmd) + ") exited with status " + rc);
            return false;
        }
        return true;
    }
}
