package dev.kindling.bench;

import dev.kindling.kernels.Parallel;
import java.lang.management.ManagementFactory;

/**
 * Heap bytes allocated per training step (all threads) and process CPU time per step, for the MLP, CNN and GPT
 * steps of {@link TrainingSteps}: the garbage a step leaves for the collector, which the kernels try to keep small.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp ... dev.kindling.bench.StepAllocation mlp|cnn|gpt [--threads 2] [--steps N]</pre>
 */
public final class StepAllocation {
    public static void main(String[] args) {
        String what = args.length > 0 ? args[0] : "mlp";
        int threads = 2, steps = -1;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--steps" -> steps = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Parallel.setThreads(threads);
        Runnable step = switch (what) {
            case "mlp" -> TrainingSteps.mlpStep(64);
            case "mlp256" -> TrainingSteps.mlpStep(256);
            case "cnn" -> TrainingSteps.cnnStep(64);
            case "gpt" -> TrainingSteps.gptStep(4, 4, 128, 64, 12, 65);
            case "gpt-large" -> TrainingSteps.gptStep(6, 6, 384, 256, 16, 65);
            default -> throw new IllegalArgumentException("workload must be mlp, mlp256, cnn, gpt or gpt-large, got " + what);
        };
        if (steps < 0) steps = what.startsWith("mlp") ? 2000 : what.equals("gpt") ? 200 : what.equals("cnn") ? 60 : 6;
        for (int i = 0; i < steps; i++) step.run(); // warm-up
        var threadsBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long bytes0 = threadsBean.getTotalThreadAllocatedBytes(), cpu0 = os.getProcessCpuTime(), t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) step.run();
        long bytes = threadsBean.getTotalThreadAllocatedBytes() - bytes0, cpu = os.getProcessCpuTime() - cpu0;
        double wall = (System.nanoTime() - t0) / 1e6 / steps;
        System.out.printf("{\"workload\":\"%s\",\"threads\":%d,\"steps\":%d,\"bytes_per_step\":%d,\"cpu_ms_per_step\":%.3f,\"wall_ms_per_step\":%.3f}%n",
                what, threads, steps, bytes / steps, cpu / 1e6 / steps, wall);
    }
}
