package dev.kindling.cli;

import static dev.kindling.cli.TrainMlpCommandTest.assertOneErrorLine;
import static dev.kindling.cli.TrainMlpCommandTest.kindling;
import static dev.kindling.cli.TrainMlpCommandTest.metrics;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.StateDicts;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kindling train cnn} end to end on small generated CIFAR-10 binaries and IDX files: it learns, a resumed
 * run ends byte for byte where an uninterrupted one does, and bad arguments get one error line.
 */
class TrainCnnCommandTest {
    @TempDir
    static Path tmp;
    static Path cifar;

    /**
     * CIFAR-10 records of an easy task: class k is an image whose channel c is brighter where (row + col + c) % 10
     * == k, plus noise; flips and small crops keep the class readable.
     */
    static byte[] cifarRecords(int n, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[n * 3073];
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(10), o = i * 3073;
            b[o] = (byte) k;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        int v = ((y / 4 + c) % 10 == k ? 200 : 40) + r.nextInt(40);
                        b[o + 1 + c * 1024 + y * 32 + x] = (byte) v;
                    }
        }
        return b;
    }

    @BeforeAll
    static void writeData() throws IOException {
        cifar = Files.createDirectories(tmp.resolve("cifar"));
        Files.write(cifar.resolve("data_batch_1.bin"), cifarRecords(160, 1));
        Files.write(cifar.resolve("data_batch_2.bin"), cifarRecords(160, 2));
        Files.write(cifar.resolve("test_batch.bin"), cifarRecords(100, 3));
    }

    static TrainMlpCommandTest.Result train(Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "cnn", "--quiet", "--threads", "2", "--out", out.toString()));
        args.addAll(List.of(more));
        var r = kindling(args.toArray(String[]::new));
        assertEquals(0, r.code(), "kindling " + args + " failed:\n" + r.err());
        return r;
    }

    @Test
    void learnsOnCifarFilesAndResumesExactly() throws IOException {
        Path straight = tmp.resolve("straight"), resumed = tmp.resolve("resumed");
        var r = train(straight, "--data", cifar.toString(), "--epochs", "3", "--batch-size", "32", "--lr", "0.02");
        assertTrue(r.out().contains("SmallCnn on cifar10 3x32x32") && r.out().contains("320 train / 100 test examples"), r.out());
        var ms = metrics(straight);
        double acc = ((Number) ms.get(2).get("test_accuracy")).doubleValue();
        assertTrue(acc > 0.5, "test accuracy after 3 epochs: " + acc + " (chance 0.1)");
        for (String f : List.of("config.json", "metrics.jsonl", "curves.png", "model.safetensors", TrainCnnCommand.CHECKPOINT))
            assertTrue(Files.isRegularFile(straight.resolve(f)), f);
        var saved = StateDicts.load(straight.resolve("model.safetensors")).tensors();
        assertArrayEquals(new int[] {256, 8192}, saved.get("fc1.weight").shape());

        train(resumed, "--data", cifar.toString(), "--epochs", "2", "--batch-size", "32", "--lr", "0.02");
        var again = kindling("train", "cnn", "--resume", resumed.toString(), "--epochs", "3", "--quiet", "--threads", "2");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("resuming " + resumed + " after epoch 2"), again.out());
        assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")), Files.readAllBytes(resumed.resolve("model.safetensors")));
        assertArrayEquals(Files.readAllBytes(straight.resolve(TrainCnnCommand.CHECKPOINT)), Files.readAllBytes(resumed.resolve(TrainCnnCommand.CHECKPOINT)));
        assertEquals(withoutTimes(metrics(straight)), withoutTimes(metrics(resumed)));
        assertOneErrorLine(kindling("train", "cnn", "--resume", resumed.toString(), "--epochs", "4", "--model", "resnet20", "--quiet"),
                "--model resnet20 differs from the run's small");
    }

    @Test
    void bf16RunLearnsWithConvolutionsUnderAutocast() throws IOException {
        Path out = tmp.resolve("bf16");
        var r = train(out, "--data", cifar.toString(), "--epochs", "2", "--batch-size", "32", "--lr", "0.02", "--precision", "bf16");
        assertTrue(r.out().contains("; bf16"), r.out());
        double acc = ((Number) metrics(out).get(1).get("test_accuracy")).doubleValue();
        assertTrue(acc > 0.5, "test accuracy after 2 bf16 epochs: " + acc + " (chance 0.1)");
        assertEquals(dev.kindling.tensor.DType.FLOAT32, StateDicts.load(out.resolve("model.safetensors")).tensors().get("fc1.weight").dtype(),
                "master weights stay FLOAT32");
    }

    static List<Map<String, Object>> withoutTimes(List<Map<String, Object>> ms) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> m : ms) {
            Map<String, Object> c = new java.util.LinkedHashMap<>(m);
            c.remove("seconds");
            c.remove("images_per_second");
            out.add(c);
        }
        return out;
    }

    /** IDX files of 8x8 images (ResNet-20 on one channel), with the BatchNorm buffers in the saved model. */
    @Test
    void resnetOnIdxFiles() throws IOException {
        Path idx = Files.createDirectories(tmp.resolve("idx"));
        writeIdx(idx, "train", 48);
        writeIdx(idx, "t10k", 12);
        Path out = tmp.resolve("resnet");
        var r = train(out, "--data", idx.toString(), "--model", "resnet20", "--epochs", "1", "--batch-size", "16");
        assertTrue(r.out().contains("ResNet-20 on idx 1x8x8"), r.out());
        var saved = StateDicts.load(out.resolve("model.safetensors")).tensors();
        assertEquals(16, saved.get("layer1.0.bn1.running_mean").numel());
        assertEquals(3, saved.get("bn1.num_batches_tracked").toLongArray()[0]);
    }

    static void writeIdx(Path dir, String split, int n) throws IOException {
        Random r = new Random(split.hashCode());
        var images = new ByteArrayOutputStream();
        var labels = new ByteArrayOutputStream();
        try (var im = new DataOutputStream(images); var lb = new DataOutputStream(labels)) {
            im.writeInt(0x803);
            im.writeInt(n);
            im.writeInt(8);
            im.writeInt(8);
            lb.writeInt(0x801);
            lb.writeInt(n);
            for (int i = 0; i < n; i++) {
                int k = r.nextInt(10);
                lb.writeByte(k);
                for (int p = 0; p < 64; p++) im.writeByte(p / 8 == k % 8 ? 220 : r.nextInt(60));
            }
        }
        Files.write(dir.resolve(split + "-images-idx3-ubyte"), images.toByteArray());
        Files.write(dir.resolve(split + "-labels-idx1-ubyte"), labels.toByteArray());
    }

    @Test
    void badArgumentsGetOneErrorLine() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "nothing to train on");
        assertOneErrorLine(kindling("train", "cnn", "--data", empty.toString(), "--out", tmp.resolve("x1").toString()),
                "holds neither CIFAR-10 binaries");
        assertOneErrorLine(kindling("train", "cnn", "--model", "vgg16", "--out", tmp.resolve("x2").toString()), "--model must be small or resnet20, got vgg16");
        assertOneErrorLine(kindling("train", "cnn", "--batch-size", "0", "--out", tmp.resolve("x3").toString()), "--batch-size must be positive, got 0");
        assertOneErrorLine(kindling("train", "cnn", "--lr", "-1", "--out", tmp.resolve("x4").toString()), "--lr must be positive");
        Path truncated = Files.createDirectories(tmp.resolve("truncated"));
        Files.write(truncated.resolve("data_batch_1.bin"), new byte[3073 + 10]);
        Files.write(truncated.resolve("test_batch.bin"), new byte[3073]);
        assertOneErrorLine(kindling("train", "cnn", "--data", truncated.toString(), "--out", tmp.resolve("x5").toString()),
                "the record at offset 3073 is cut off after 10 bytes");
        Path nothing = tmp.resolve("never-ran");
        assertOneErrorLine(kindling("train", "cnn", "--resume", nothing.toString()), "--resume " + nothing + " is not a folder");
        for (int i = 1; i <= 5; i++) assertFalse(Files.exists(tmp.resolve("x" + i).resolve("model.safetensors")));
    }
}
