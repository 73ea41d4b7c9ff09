package dev.kindling.spark;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint on a Hadoop file system: one safetensors file with the model ("model." + name) and the
 * optimizer state in its single-process layout ("optim." + name), and in its metadata the number of steps done
 * and the metrics of those steps (so a resumed run still reports every step).
 */
record Checkpoint(Map<String, Tensor> model, Map<String, Tensor> optimizer, int step, List<StepMetrics> metrics) {

    static void write(HadoopFiles files, String uri, Module model, Map<String, Tensor> optState, int step, List<StepMetrics> metrics)
            throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> all.put("model." + k, v));
        optState.forEach((k, v) -> all.put("optim." + k, v));
        List<Object> rows = new ArrayList<>();
        for (StepMetrics m : metrics) rows.add(List.of(m.step(), m.loss(), toList(m.examplesPerSecond()), toList(m.tokensPerSecond())));
        Path tmp = Files.createTempFile("kindling-checkpoint-", ".safetensors");
        try {
            StateDicts.save(tmp, all, Map.of("step", Integer.toString(step), "metrics", Json.write(rows)));
            files.upload(tmp, uri);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The checkpoint at {@code uri}, or null if there is none. */
    static Checkpoint read(HadoopFiles files, String uri) throws IOException {
        if (!files.exists(uri)) return null;
        Path tmp = Files.createTempFile("kindling-checkpoint-", ".safetensors");
        try {
            files.download(uri, tmp);
            var loaded = StateDicts.load(tmp);
            String step = loaded.metadata().get("step"), metrics = loaded.metadata().get("metrics");
            if (step == null || metrics == null)
                throw new IOException(uri + ": not a SparkTrainer checkpoint (no 'step' or 'metrics' in its metadata)");
            List<StepMetrics> list = new ArrayList<>();
            for (Object o : (List<?>) Json.parse(metrics)) {
                List<?> r = (List<?>) o;
                list.add(new StepMetrics(((Number) r.get(0)).intValue(), ((Number) r.get(1)).doubleValue(), toArray(r.get(2)), toArray(r.get(3))));
            }
            return new Checkpoint(StateDicts.withPrefix(loaded.tensors(), "model."), StateDicts.withPrefix(loaded.tensors(), "optim."),
                    Integer.parseInt(step), list);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static List<Double> toList(double[] v) {
        List<Double> l = new ArrayList<>(v.length);
        for (double d : v) l.add(d);
        return l;
    }

    private static double[] toArray(Object o) {
        List<?> l = (List<?>) o;
        double[] v = new double[l.size()];
        for (int i = 0; i < v.length; i++) v[i] = ((Number) l.get(i)).doubleValue();
        return v;
    }
}
