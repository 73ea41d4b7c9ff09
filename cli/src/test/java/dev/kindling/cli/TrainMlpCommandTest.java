package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kindling.io.StateDicts;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code kindling train mlp} recipe end to end on a Fashion-MNIST subset: it learns, it is reproducible,
 * a resumed run ends byte for byte where an uninterrupted one does, its outputs are complete, and bad
 * arguments get one line on stderr.
 */
class TrainMlpCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> METRIC_KEYS = List.of("epoch", "train_loss", "test_loss", "test_accuracy", "seconds");

    @TempDir
    static Path tmp;
    static Path data;
    /** The 2-epoch run on 3,000 images that several tests look at. */
    static Path runA;
    static Result resultA;

    record Result(int code, String out, String err) {}

    /** Fashion-MNIST as the core tests find it; missing data fails (CI installs dataset-fashion-mnist). */
    static Path fashionMnist() {
        String p = System.getProperty("kindling.fashionMnist");
        if (p == null) p = System.getenv("FASHION_MNIST_DIR");
        if (p == null) p = "/usr/share/datasets/fashion-mnist";
        Path d = Path.of(p);
        if (!Files.isRegularFile(d.resolve("train-images-idx3-ubyte.gz")) && !Files.isRegularFile(d.resolve("train-images-idx3-ubyte")))
            fail("Fashion-MNIST not found in " + d + ": install it (apt-get install dataset-fashion-mnist) or point"
                    + " -Dkindling.fashionMnist or FASHION_MNIST_DIR at a folder with the four IDX files");
        return d;
    }

    /** Runs the command line in this JVM, capturing what it prints. */
    static synchronized Result kindling(String... args) {
        PrintStream out = System.out, err = System.err;
        var o = new ByteArrayOutputStream();
        var e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            System.out.flush();
            System.err.flush();
            return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static Result train(Path outDir, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "mlp", "--data", data.toString(), "--quiet", "--threads", "2",
                "--out", outDir.toString()));
        args.addAll(List.of(more));
        Result r = kindling(args.toArray(String[]::new));
        assertEquals(0, r.code, "kindling " + args + " failed:\n" + r.err);
        return r;
    }

    @BeforeAll
    static void trainOnce() {
        data = fashionMnist();
        runA = tmp.resolve("a");
        resultA = train(runA, "--limit", "3000", "--epochs", "2");
    }

    static List<Map<String, Object>> metrics(Path run) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.readValue(line, LinkedHashMap.class);
            out.add(m);
        }
        return out;
    }

    static List<Map<String, Object>> withoutSeconds(List<Map<String, Object>> ms) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> m : ms) {
            Map<String, Object> c = new LinkedHashMap<>(m);
            c.remove("seconds");
            out.add(c);
        }
        return out;
    }

    @Test
    void learnsWellAboveChance() throws IOException {
        List<Map<String, Object>> ms = metrics(runA);
        assertEquals(2, ms.size());
        double acc = ((Number) ms.get(1).get("test_accuracy")).doubleValue();
        assertTrue(acc > 0.6, "test accuracy after 2 epochs on 3,000 images: " + acc + " (chance is 0.1)");
        double loss1 = ((Number) ms.get(0).get("train_loss")).doubleValue(), loss2 = ((Number) ms.get(1).get("train_loss")).doubleValue();
        assertTrue(loss2 < loss1, "train loss falls: " + loss1 + " then " + loss2);
        assertTrue(resultA.out.contains("3000 train / 500 test examples"), resultA.out);
        assertEquals("", resultA.err, "--quiet prints nothing on stderr");
    }

    @Test
    void theSameCommandTwiceGivesTheSameMetrics() throws IOException {
        Path b = tmp.resolve("b");
        train(b, "--limit", "3000", "--epochs", "2");
        assertEquals(withoutSeconds(metrics(runA)), withoutSeconds(metrics(b)));
        assertArrayEquals(Files.readAllBytes(runA.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")),
                "the same weights, bit for bit");
    }

    @Test
    void writesEveryDocumentedOutput() throws IOException {
        for (Map<String, Object> m : metrics(runA)) {
            assertEquals(METRIC_KEYS, new ArrayList<>(m.keySet()), "metrics.jsonl keys");
            for (String k : METRIC_KEYS) assertTrue(m.get(k) instanceof Number, k + " is a number: " + m.get(k));
        }
        assertEquals(List.of(1, 2), metrics(runA).stream().map(m -> m.get("epoch")).toList());

        @SuppressWarnings("unchecked")
        Map<String, Object> config = JSON.readValue(runA.resolve("config.json").toFile(), Map.class);
        assertEquals("mlp", config.get("model_type"));
        assertEquals(784, config.get("input_size"));
        assertEquals(500, config.get("hidden_size"));
        assertEquals(10, config.get("num_classes"));
        assertEquals(2, config.get("epochs"));
        assertEquals(64, config.get("batch_size"));
        assertEquals(3000, config.get("limit"));
        assertEquals(data.toAbsolutePath().normalize().toString(), config.get("data"));

        byte[] png = Files.readAllBytes(runA.resolve("curves.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, java.util.Arrays.copyOf(png, 8));
        BufferedImage image = ImageIO.read(runA.resolve("curves.png").toFile());
        assertNotNull(image, "curves.png decodes");
        assertTrue(image.getWidth() >= 400 && image.getHeight() >= 400, image.getWidth() + "x" + image.getHeight());

        var model = StateDicts.load(runA.resolve("model.safetensors"));
        assertEquals(List.of("layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"), new ArrayList<>(model.tensors().keySet()));
        assertArrayEquals(new int[] {500, 784}, model.tensors().get("layer1.weight").shape());
        assertArrayEquals(new int[] {10}, model.tensors().get("layer2.bias").shape());
        assertEquals("pt", model.metadata().get("format"));

        var ck = StateDicts.load(runA.resolve(TrainMlpCommand.CHECKPOINT));
        assertEquals("2", ck.metadata().get("epoch"));
        assertNotNull(ck.metadata().get("rng"));
        assertEquals(2 * 47, ck.tensors().get("optim.step").getLong(0), "two epochs of ceil(3000 / 64) = 47 steps");
        for (String k : model.tensors().keySet()) {
            assertTrue(ck.tensors().containsKey("model." + k), k);
            assertArrayEquals(model.tensors().get(k).toFloatArray(), ck.tensors().get("model." + k).toFloatArray(), 0f, k);
        }
        assertTrue(ck.tensors().containsKey("optim.0.0.exp_avg") && ck.tensors().containsKey("optim.0.3.exp_avg_sq"));
        try (var files = Files.list(runA)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("checkpoint.safetensors", "config.json", "curves.png", "metrics.jsonl", "model.safetensors"), names,
                    "no temporary files left behind");
        }
    }

    @Test
    void resumingEndsWithTheSameBytesAsAnUninterruptedRun() throws IOException {
        Path straight = tmp.resolve("straight"), resumed = tmp.resolve("resumed");
        train(straight, "--limit", "1000", "--epochs", "3", "--seed", "4");
        train(resumed, "--limit", "1000", "--epochs", "2", "--seed", "4");
        // only the folder and the new epoch count: every other setting comes from the run's config.json
        Result r = kindling("train", "mlp", "--resume", resumed.toString(), "--epochs", "3", "--quiet", "--threads", "2");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("resuming " + resumed + " after epoch 2"), r.out);
        assertTrue(r.out.contains("1000 train / 166 test examples"), "the same data as before: " + r.out);
        assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")), Files.readAllBytes(resumed.resolve("model.safetensors")),
                "model.safetensors after 3 epochs vs 2 epochs + resume");
        assertArrayEquals(Files.readAllBytes(straight.resolve(TrainMlpCommand.CHECKPOINT)), Files.readAllBytes(resumed.resolve(TrainMlpCommand.CHECKPOINT)));
        assertEquals(withoutSeconds(metrics(straight)), withoutSeconds(metrics(resumed)));
        assertEquals(3, metrics(resumed).size());

        // a setting that differs from the run's is refused, not silently used
        Result lr = kindling("train", "mlp", "--resume", resumed.toString(), "--epochs", "4", "--lr", "0.01", "--quiet");
        assertOneErrorLine(lr, "--lr 0.01 differs from the run's 0.001");
        Result seed = kindling("train", "mlp", "--resume", resumed.toString(), "--epochs", "4", "--seed", "5", "--quiet");
        assertOneErrorLine(seed, "--seed 5 differs from the run's 4");
    }

    @Test
    void halfPrecisionRunsLearnAndKeepTheirPrecisionOnResume() throws IOException {
        Path bf16 = tmp.resolve("bf16"), fp16 = tmp.resolve("fp16");
        train(bf16, "--limit", "1000", "--epochs", "1", "--precision", "bf16");
        Result r = train(fp16, "--limit", "1000", "--epochs", "1", "--precision", "fp16");
        assertTrue(r.out.contains("; fp16"), r.out);
        for (Path run : List.of(bf16, fp16)) {
            double acc = ((Number) metrics(run).get(0).get("test_accuracy")).doubleValue();
            assertTrue(acc > 0.5, run + ": test accuracy " + acc);
        }
        assertTrue(StateDicts.load(fp16.resolve(TrainMlpCommand.CHECKPOINT)).tensors().containsKey("scaler.scale"));
        assertFalse(StateDicts.load(bf16.resolve(TrainMlpCommand.CHECKPOINT)).tensors().containsKey("scaler.scale"));
        assertOneErrorLine(kindling("train", "mlp", "--resume", fp16.toString(), "--epochs", "2", "--precision", "bf16", "--quiet"),
                "--precision bf16 differs from the run's fp16");
        Result resumed = kindling("train", "mlp", "--resume", fp16.toString(), "--epochs", "2", "--quiet", "--threads", "2");
        assertEquals(0, resumed.code, resumed.err);
        assertTrue(resumed.out.contains("; fp16"), "the run's precision is kept: " + resumed.out);
        assertOneErrorLine(kindling("train", "mlp", "--precision", "fp64", "--out", tmp.resolve("x6").toString()),
                "--precision must be fp32, bf16 or fp16, got 'fp64'");
        // checked before joining a process group, so no launcher is needed to see the refusals
        assertOneErrorLine(kindling("train", "mlp", "--parallel", "tp", "--precision", "bf16", "--out", tmp.resolve("x7").toString()),
                "--parallel tp trains in fp32 only, got --precision bf16");
        assertOneErrorLine(kindling("train", "mlp", "--parallel", "zero2", "--precision", "fp16", "--out", tmp.resolve("x8").toString()),
                "--precision fp16 needs loss scaling");
    }

    static void assertOneErrorLine(Result r, String expected) {
        assertNotEquals(0, r.code, "exit code");
        List<String> lines = r.err.lines().toList();
        assertEquals(1, lines.size(), "exactly one line on stderr, got:\n" + r.err);
        assertTrue(lines.get(0).startsWith("kindling "), lines.get(0));
        assertTrue(lines.get(0).contains(expected), "'" + lines.get(0) + "' should say '" + expected + "'");
        assertFalse(r.err.contains("\tat "), "no stack trace");
    }

    @Test
    void badArgumentsGetOneErrorLine() throws IOException {
        Path missing = tmp.resolve("no-such-folder");
        assertOneErrorLine(kindling("train", "mlp", "--data", missing.toString(), "--out", tmp.resolve("x1").toString()),
                "--data " + missing + " is not a folder");

        Path empty = Files.createDirectories(tmp.resolve("empty-data"));
        Files.writeString(empty.resolve("README"), "no IDX files here");
        assertOneErrorLine(kindling("train", "mlp", "--data", empty.toString(), "--out", tmp.resolve("x2").toString()),
                "missing train-images-idx3-ubyte");

        assertOneErrorLine(kindling("train", "mlp", "--data", data.toString(), "--batch-size", "0", "--out", tmp.resolve("x3").toString()),
                "--batch-size must be positive, got 0");
        assertOneErrorLine(kindling("train", "mlp", "--epochs", "-1", "--out", tmp.resolve("x4").toString()), "--epochs must be positive, got -1");
        assertOneErrorLine(kindling("train", "mlp", "--lr", "0", "--out", tmp.resolve("x5").toString()), "--lr must be positive");

        Path nothing = tmp.resolve("never-ran");
        assertOneErrorLine(kindling("train", "mlp", "--resume", nothing.toString()), "--resume " + nothing + " is not a folder");
        assertFalse(Files.exists(nothing), "a failed resume creates no folder");
        Path noCheckpoint = Files.createDirectories(tmp.resolve("no-checkpoint"));
        assertOneErrorLine(kindling("train", "mlp", "--resume", noCheckpoint.toString()), "no checkpoint.safetensors in that folder");
        for (int i = 1; i <= 5; i++) assertFalse(Files.exists(tmp.resolve("x" + i).resolve("model.safetensors")));
    }
}
