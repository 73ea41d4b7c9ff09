package dev.kindling.bench;

import dev.kindling.kernels.Parallel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a Kindling workload and its PyTorch reference in the same run, alternating rounds (the machine is
 * shared and noisy), and prints medians and the ratio as a Markdown table.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/kindling-bench.jar dev.kindling.bench.SideBySide mlp|cnn|gpt|gpt-large|decode [--rounds 3]</pre>
 * Run from the repository root, with ../shared/reference/run-tuned beside it.
 */
public final class SideBySide {
    private static final Path RUN_TUNED = Path.of("../shared/reference/run-tuned");

    public static void main(String[] args) throws Exception {
        String what = args.length > 0 ? args[0] : "mlp";
        int rounds = 3, threads = 2;
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (args[i].equals("--rounds")) rounds = Integer.parseInt(args[i + 1]);
            else if (args[i].equals("--threads")) threads = Integer.parseInt(args[i + 1]);
            else throw new IllegalArgumentException("unknown option " + args[i]);
        }
        Parallel.setThreads(threads);
        if (what.equals("decode")) { // its own table: four precisions, the bandwidth bound and PyTorch
            DecodeBench.run(rounds, threads);
            return;
        }
        System.out.printf("| workload | Kindling | PyTorch | ratio (Kindling/PyTorch, higher is better) |%n|---|---|---|---|%n");
        switch (what) {
            case "mlp" -> {
                for (int batch : new int[] {64, 256}) {
                    double[] k = new double[rounds], p = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        k[r] = TrainingSteps.mlpSamplesPerSecond(batch, 300, 5);
                        p[r] = reference("mlp_step.py", "samples_per_s", threads, "--batch", Integer.toString(batch));
                    }
                    row("SimpleNN step, batch " + batch + " (samples/s)", TrainingSteps.median(k), TrainingSteps.median(p), false);
                }
            }
            case "cnn" -> {
                double[] k = new double[rounds], p = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    k[r] = TrainingSteps.cnnImagesPerSecond(64, 20, 5);
                    p[r] = reference("cnn_step.py", "images_per_s", threads, "--batch", "64");
                }
                row("small CNN step, 3x32x32, batch 64 (images/s)", TrainingSteps.median(k), TrainingSteps.median(p), false);
            }
            case "gpt", "gpt-large" -> {
                boolean large = what.equals("gpt-large");
                int layers = large ? 6 : 4, heads = large ? 6 : 4, embd = large ? 384 : 128, block = large ? 256 : 64, batch = large ? 16 : 12;
                int iters = large ? 3 : 20;
                double[] k = new double[rounds], p = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    k[r] = TrainingSteps.gptMsPerIter(layers, heads, embd, block, batch, 65, iters, 3);
                    p[r] = reference("gpt_step.py", "ms_per_iter", threads, "--n-layer", "" + layers, "--n-head", "" + heads,
                            "--n-embd", "" + embd, "--block-size", "" + block, "--batch-size", "" + batch, "--iters", "" + iters);
                }
                row("GPT " + layers + "L/" + heads + "H/" + embd + "/block " + block + "/batch " + batch + " (ms/iter)",
                        TrainingSteps.median(k), TrainingSteps.median(p), true);
            }
            default -> throw new IllegalArgumentException("workload must be mlp, cnn, gpt, gpt-large or decode, got " + what);
        }
    }

    private static void row(String name, double kindling, double torch, boolean lowerIsBetter) {
        double ratio = lowerIsBetter ? torch / kindling : kindling / torch;
        System.out.printf("| %s | %.1f | %.1f | %.2f |%n", name, kindling, torch, ratio);
    }

    /** Runs bench/reference/{script} under run-tuned and returns the named field of its last JSON line. */
    static double reference(String script, String field, int threads, String... args) throws IOException, InterruptedException {
        return reference(script, new String[] {field}, threads, args)[0];
    }

    /** Runs bench/reference/{script} under run-tuned once and returns the last value of each named field. */
    static double[] reference(String script, String[] fields, int threads, String... args) throws IOException, InterruptedException {
        if (!Files.isExecutable(RUN_TUNED))
            throw new IllegalStateException("needs " + RUN_TUNED + " (run from the repository root with ../shared beside it)");
        List<String> cmd = new ArrayList<>(List.of(RUN_TUNED.toString(), "/usr/bin/python3", "bench/reference/" + script,
                "--threads", Integer.toString(threads)));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        double[] values = new double[fields.length];
        java.util.Arrays.fill(values, Double.NaN);
        StringBuilder all = new StringBuilder();
        try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                all.append(line).append('\n');
                for (int i = 0; i < fields.length; i++) {
                    Matcher m = Pattern.compile("\"" + fields[i] + "\": ([0-9.eE+-]+)").matcher(line);
                    if (m.find()) values[i] = Double.parseDouble(m.group(1));
                }
            }
        }
        if (p.waitFor() != 0 || java.util.Arrays.stream(values).anyMatch(Double::isNaN))
            throw new IllegalStateException("reference " + script + " failed:\n" + all);
        return values;
    }
}
