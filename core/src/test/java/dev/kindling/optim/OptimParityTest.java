package dev.kindling.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Five steps of each optimizer (and LR schedule) against what PyTorch 1.13 did with the same parameter and
 * gradients, from golden/optim.safetensors written by tools/golden/optim_fixtures.py. The cases here must
 * match that script's.
 */
class OptimParityTest {
    private static final double RTOL = 1e-6;
    private static Map<String, Tensor> golden;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = OptimParityTest.class.getResourceAsStream("/golden/optim.safetensors")) {
            if (in == null) throw new IOException("test resource golden/optim.safetensors is missing (tools/golden/optim_fixtures.py writes it)");
            Path tmp = Files.createTempFile("optim", ".safetensors");
            try {
                Files.write(tmp, in.readAllBytes());
                golden = StateDicts.load(tmp).tensors();
            } finally {
                Files.delete(tmp);
            }
        }
    }

    private static List<ParamGroup> group(Tensor p, double lr, double wd) {
        return List.of(new ParamGroup(List.of(p), lr, wd));
    }

    record Case(String name, Function<Tensor, Optimizer> optimizer, LRSchedule schedule) {
        @Override public String toString() { return name; }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case("sgd_momentum", p -> new SGD(List.of(p), 0.1, 0.9), null),
                new Case("sgd_nesterov_wd", p -> new SGD(group(p, 0.1, 0.01), 0.9, 0, true), null),
                new Case("sgd_dampening_wd", p -> new SGD(group(p, 0.05, 0.1), 0.5, 0.2, false), null),
                new Case("sgd_steplr", p -> new SGD(List.of(p), 0.1, 0.9), LRSchedule.stepLR(2, 0.5)),
                new Case("adam_wd", p -> new Adam(group(p, 0.01, 0.1), 0.9, 0.999, 1e-8), null),
                new Case("adamw_wd", p -> new AdamW(List.of(p), 0.01, 0.1), null),
                new Case("adam_steplr", p -> new Adam(List.of(p), 0.1), LRSchedule.stepLR(2, 0.5)),
                new Case("adamw_warmup_cosine", p -> new AdamW(group(p, 0.05, 0.1), 0.8, 0.99, 1e-6),
                        LRSchedule.warmupCosine(2, 4, 0.1))
        ).map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesPyTorch(Case c) {
        Tensor expected = golden.get(c.name), lrs = golden.get(c.name + ".lr"), grads = golden.get("grads");
        assertNotNull(expected, "fixture has no case " + c.name);
        Tensor p = Tensor.fromArray(golden.get("param0").toFloatArray(), 2, 3).requiresGrad(true);
        Optimizer opt = c.optimizer.apply(p);
        int steps = expected.size(0);
        for (int t = 0; t < steps; t++) {
            if (c.schedule != null) c.schedule.apply(opt, t);
            assertEquals(lrs.get(t), opt.paramGroups().get(0).lr, 1e-7 * lrs.get(t), c.name + ": lr at step " + t);
            p.setGrad(grads.select(0, t).contiguous());
            opt.step();
            float[] got = p.toFloatArray(), want = expected.select(0, t).toFloatArray();
            for (int i = 0; i < got.length; i++)
                assertEquals(want[i], got[i], RTOL * Math.abs(want[i]),
                        c.name + ": element " + i + " after step " + (t + 1) + " is " + got[i] + ", PyTorch has " + want[i]);
        }
    }
}
