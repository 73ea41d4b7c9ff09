package dev.kindling.bench;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Two builds of Kindling in one JVM, each in its own class loader, running the same MiniLM workload on one kernel
 * thread with calls alternating: thread CPU time per call, medians. On a machine shared with other jobs, wall
 * clock and even separate runs are too noisy to compare builds; alternating calls in one process see the same load.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/classes dev.kindling.bench.MiniLmCpuAB \
 *     MODEL B T ROUNDS BASE_CLASSES NEW_CLASSES</pre>
 * MODEL is an .onnx file, or {@code bert-FLOAT32:DIR} / {@code bert-BF16:DIR} for a Hugging Face folder; each
 * CLASSES is a path list (core and llm classes or jars) of one build. An optional seventh argument is another model
 * for the new build to run: with the same CLASSES twice, two models compare on one build (the int8 MiniLM against
 * the F32 one).
 */
public final class MiniLmCpuAB {
    private MiniLmCpuAB() {}

    interface Call {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6 && args.length != 7)
            throw new IllegalArgumentException("usage: MODEL B T ROUNDS BASE_CLASSES NEW_CLASSES [NEW_MODEL], got " + Arrays.toString(args));
        String model = args[0], newModel = args.length > 6 ? args[6] : model;
        int b = Integer.parseInt(args[1]), t = Integer.parseInt(args[2]), rounds = Integer.parseInt(args[3]);
        Call[] calls = {load(model, b, t, args[4]), load(newModel, b, t, args[5])};
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int w = 0; w < Math.max(3, rounds / 3); w++) for (Call c : calls) c.run();
        double[][] ms = new double[2][rounds];
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < 2; v++) {
                long c0 = bean.getCurrentThreadCpuTime();
                calls[v].run();
                ms[v][r] = (bean.getCurrentThreadCpuTime() - c0) / 1e6;
            }
        double base = TrainingSteps.median(ms[0]), now = TrainingSteps.median(ms[1]);
        System.out.printf("%s %d x %d: base %.2f ms, new %.2f ms CPU per call (1 thread, median of %d alternating) -> %.2fx%n",
                model.equals(newModel) ? model : model + " vs " + newModel, b, t, base, now, rounds, base / now);
    }

    /** One build's runner for the workload, through reflection on that build's classes. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Call load(String model, int b, int t, String classes) throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String d : classes.split(":")) urls.add(Path.of(d).toUri().toURL());
        ClassLoader l = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        l.loadClass("dev.kindling.kernels.Parallel").getMethod("setThreads", int.class).invoke(null, 1);
        Class<?> tensor = l.loadClass("dev.kindling.tensor.Tensor");
        Method wrap = tensor.getMethod("wrapLongs", long[].class, int[].class);
        long[][] in = MiniLmSideBySide.inputs(b, t);
        Object ids = wrap.invoke(null, in[0], new int[] {b, t}), mask = wrap.invoke(null, in[1], new int[] {b, t});
        Object types = wrap.invoke(null, in[2], new int[] {b, t});
        if (model.startsWith("bert-")) {
            String[] parts = model.substring(5).split(":", 2);
            Class<?> dtype = l.loadClass("dev.kindling.tensor.DType"), auto = l.loadClass("dev.kindling.models.AutoModel");
            Object loaded = auto.getMethod("fromPretrained", Path.class, dtype).invoke(null, Path.of(parts[1]), Enum.valueOf((Class) dtype, parts[0]));
            Object bert = auto.getMethod("module").invoke(loaded);
            Method encode = bert.getClass().getMethod("encode", tensor, tensor, tensor);
            Method disabled = l.loadClass("dev.kindling.autograd.Grad").getMethod("disabled");
            return () -> {
                try (AutoCloseable g = (AutoCloseable) disabled.invoke(null)) {
                    encode.invoke(bert, ids, mask, types);
                }
            };
        }
        Class<?> onnx = l.loadClass("dev.kindling.onnx.OnnxModel");
        Object m = onnx.getMethod("load", Path.class).invoke(null, Path.of(model));
        Method run = onnx.getMethod("run", Map.class);
        Map<String, Object> feed = Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
        return () -> run.invoke(m, feed);
    }
}
