package dev.kindling.onnx;

import dev.kindling.kernels.Parallel;
import java.nio.file.Path;
import java.util.*;

/** Times each step of a model run (development aid): ProfileMain model.onnx batch tokens [reps]. */
public class ProfileMain {
    public static void main(String[] a) throws Exception {
        Parallel.setThreads(2);
        var model = OnnxModel.load(Path.of(a[0]));
        int b = Integer.parseInt(a[1]), t = Integer.parseInt(a[2]), reps = a.length > 3 ? Integer.parseInt(a[3]) : 5;
        long[] ids = new long[b * t], mask = new long[b * t];
        Random r = new Random(1);
        for (int i = 0; i < ids.length; i++) { ids[i] = 1000 + r.nextInt(20000); mask[i] = 1; }
        Map<String, Value> in = new HashMap<>();
        in.put("input_ids", Value.longs(DataType.INT64, ids, b, t));
        in.put("attention_mask", Value.longs(DataType.INT64, mask, b, t));
        in.put("token_type_ids", Value.longs(DataType.INT64, new long[b * t], b, t));
        Graph g = model.graph();
        List<String> labels = g.stepLabels();
        long[] nanos = new long[labels.size()];
        for (int i = 0; i < 2; i++) g.run(in, null);
        long s = System.nanoTime();
        for (int i = 0; i < reps; i++) g.run(in, nanos);
        System.out.printf("%.2f ms per run, %d steps%n", (System.nanoTime() - s) / 1e6 / reps, labels.size());
        Map<String, Long> byOp = new TreeMap<>();
        for (int i = 0; i < labels.size(); i++) byOp.merge(labels.get(i).split(" ")[0], nanos[i], Long::sum);
        byOp.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> System.out.printf("%-28s %8.2f ms%n", e.getKey(), e.getValue() / 1e6 / reps));
    }
}
