package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Convolution, pooling and batch norm against PyTorch (tools/golden/cnn_fixtures.py writes
 * golden/cnn.safetensors): outputs and every input gradient, and the running statistics of batch norm.
 */
class CnnFixturesTest {
    private static Map<String, Tensor> fixture;

    private static synchronized Map<String, Tensor> fixture() throws Exception {
        if (fixture == null)
            fixture = StateDicts.load(Path.of(CnnFixturesTest.class.getResource("/golden/cnn.safetensors").toURI())).tensors();
        return fixture;
    }

    /** The op of each case, with the settings cnn_fixtures.py uses; inputs in the order x, w, b. */
    private static Function<List<Tensor>, Tensor> op(String name, Map<String, Tensor> f) {
        return switch (name) {
            case "conv_basic" -> in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 1, 1);
            case "conv_groups" -> in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), new int[] {2, 1}, new int[] {1, 0}, new int[] {2, 1}, 2);
            case "conv_same" -> in -> Functional.conv2d(in.get(0), in.get(1), null, "same", new int[] {1}, 1);
            case "conv_1x1" -> in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 1, 0);
            case "conv_stride3" -> in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 3, 2);
            case "maxpool" -> in -> Functional.maxPool2d(in.get(0), 3, 2, 1);
            case "maxpool2" -> in -> Functional.maxPool2d(in.get(0), 2, 2, 0);
            case "maxpool_dil_ceil" -> in -> Functional.maxPool2d(in.get(0), new int[] {2, 3}, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 2}, true);
            case "avgpool" -> in -> Functional.avgPool2d(in.get(0), 3, 2, 1);
            case "avgpool_ceil_nopad" -> in -> Functional.avgPool2d(in.get(0), new int[] {3, 2}, new int[] {2, 2}, new int[] {1, 1}, true, false);
            case "adaptive" -> in -> Functional.adaptiveAvgPool2d(in.get(0), 3, 2);
            case "bn_train", "bn_eval" -> in -> Functional.batchNorm(in.get(0), f.get(name + ".rm").contiguous(), f.get(name + ".rv").contiguous(),
                    in.get(1), in.get(2), name.equals("bn_train"), 0.1, 1e-5);
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"conv_basic", "conv_groups", "conv_same", "conv_1x1", "conv_stride3", "maxpool", "maxpool2", "maxpool_dil_ceil",
            "avgpool", "avgpool_ceil_nopad", "adaptive", "bn_train", "bn_eval"})
    void matchesPyTorch(String name) throws Exception {
        Map<String, Tensor> f = fixture();
        double tol = name.startsWith("bn") ? 1e-4 : 1e-5;
        List<String> names = new ArrayList<>();
        for (String k : new String[] {"x", "w", "b"}) if (f.containsKey(name + "." + k)) names.add(k);
        List<Tensor> in = new ArrayList<>();
        for (String k : names) in.add(copy(f.get(name + "." + k)).requiresGrad(true));
        if (in.size() < 3) in.add(null);
        if (in.size() < 3) in.add(null);
        // batch norm updates the running statistics in place: run on copies
        if (name.startsWith("bn")) {
            f = new java.util.HashMap<>(f);
            f.put(name + ".rm", copy(f.get(name + ".rm")));
            f.put(name + ".rv", copy(f.get(name + ".rv")));
        }
        Tensor y = op(name, f).apply(in);
        close(name + " y", f.get(name + ".y"), y, tol);
        y.backward(f.get(name + ".gout"));
        for (int i = 0; i < names.size(); i++) close(name + " grad." + names.get(i), f.get(name + ".grad." + names.get(i)), in.get(i).grad(), tol);
        if (name.startsWith("bn")) {
            close(name + " running mean", f.get(name + ".rm_after"), f.get(name + ".rm"), tol);
            close(name + " running var", f.get(name + ".rv_after"), f.get(name + ".rv"), tol);
        }
    }

    private static Tensor copy(Tensor t) {
        return Tensor.fromArray(t.toFloatArray(), t.shape());
    }

    static void close(String what, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        double scale = 0;
        for (float v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++)
            assertEquals(e[i], a[i], tol * Math.max(1, Math.abs(e[i])) + 1e-6 * scale, what + " [" + i + "]");
    }
}
