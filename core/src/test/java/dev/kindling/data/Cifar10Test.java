package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CIFAR-10 reader on files written here in the binary format, and the image transforms. */
class Cifar10Test {
    @TempDir Path dir;

    /** n records; record i has label (i + first) % 10 and pixel j = (i * 7 + j) % 256. */
    static byte[] records(int n, int first) {
        byte[] b = new byte[n * Cifar10.RECORD];
        for (int i = 0; i < n; i++) {
            b[i * Cifar10.RECORD] = (byte) ((i + first) % 10);
            for (int j = 0; j < 3072; j++) b[i * Cifar10.RECORD + 1 + j] = (byte) ((i * 7 + j) % 256);
        }
        return b;
    }

    @Test
    void readsTrainAndTest() throws IOException {
        Files.write(dir.resolve("data_batch_1.bin"), records(3, 0));
        Files.write(dir.resolve("data_batch_2.bin"), records(2, 3));
        Files.write(dir.resolve("test_batch.bin"), records(4, 5));
        assertTrue(Cifar10.isCifar10(dir));
        TensorDataset train = Cifar10.train(dir), test = Cifar10.test(dir);
        assertArrayEquals(new int[] {5, 3, 32, 32}, train.inputs().shape());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4}, train.targets().toLongArray());
        assertArrayEquals(new long[] {5, 6, 7, 8}, test.targets().toLongArray());
        // record 1 of batch 2 (sample 4): channel 1 (green), row 2, column 5 is byte 1024 + 2 * 32 + 5
        assertEquals(((1 * 7 + 1024 + 69) % 256) / 255f, train.inputs().get(4, 1, 2, 5), 0f);
    }

    @Test
    void findsTheArchiveFolder() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
        Files.write(sub.resolve("data_batch_1.bin"), records(1, 0));
        Files.write(sub.resolve("test_batch.bin"), records(1, 0));
        assertTrue(Cifar10.isCifar10(dir));
        assertEquals(1, Cifar10.train(dir).size());
    }

    @Test
    void truncatedFileNamesFileAndOffset() throws IOException {
        byte[] b = records(3, 0);
        Path f = dir.resolve("data_batch_1.bin");
        Files.write(f, Arrays.copyOf(b, b.length - 100));
        var e = assertThrows(IllegalArgumentException.class, () -> Cifar10.train(dir));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("offset 6146")
                && e.getMessage().contains("cut off after 2973 bytes"), e.getMessage());
    }

    @Test
    void badLabelAndMissingFiles() throws IOException {
        byte[] b = records(3, 0);
        b[2 * Cifar10.RECORD] = 10;
        Files.write(dir.resolve("test_batch.bin"), b);
        var e = assertThrows(IllegalArgumentException.class, () -> Cifar10.test(dir));
        assertTrue(e.getMessage().contains("label 10 at offset 6146"), e.getMessage());
        assertFalse(Cifar10.isCifar10(dir));
        e = assertThrows(IllegalArgumentException.class, () -> Cifar10.train(dir));
        assertTrue(e.getMessage().contains("no data_batch_1.bin"), e.getMessage());
    }

    @Test
    void normalizePerChannel() {
        Tensor x = Tensor.ones(2, 3, 2, 2);
        Tensor y = Transforms.normalize(x, new float[] {0, 0.5f, 1}, new float[] {1, 0.5f, 2});
        assertEquals(1, y.get(1, 0, 1, 1), 0);
        assertEquals(1, y.get(1, 1, 0, 1), 0);
        assertEquals(0, y.get(0, 2, 1, 0), 0);
        assertThrows(IllegalArgumentException.class, () -> Transforms.normalize(x, new float[] {0, 0}, new float[] {1, 1}));
    }

    @Test
    void randomCropShiftsWithZeroPadding() {
        Tensor x = Tensor.arange(2 * 1 * 5 * 5).add(1).reshape(2, 1, 5, 5);
        assertArrayEquals(x.toFloatArray(), Transforms.randomCrop(x, 0, new Generator(1)).toFloatArray());
        Tensor a = Transforms.randomCrop(x, 2, new Generator(7)), b = Transforms.randomCrop(x, 2, new Generator(7));
        assertArrayEquals(a.toFloatArray(), b.toFloatArray());
        // each output image is the input shifted by (dy, dx) in [-2, 2]: find the shift and check every pixel
        float[] in = x.toFloatArray(), out = a.toFloatArray();
        for (int n = 0; n < 2; n++) {
            boolean found = false;
            for (int dy = -2; dy <= 2 && !found; dy++)
                for (int dx = -2; dx <= 2 && !found; dx++) {
                    boolean ok = true;
                    for (int y = 0; y < 5; y++)
                        for (int c = 0; c < 5; c++) {
                            int sy = y + dy, sx = c + dx;
                            float want = sy < 0 || sy >= 5 || sx < 0 || sx >= 5 ? 0 : in[n * 25 + sy * 5 + sx];
                            ok &= out[n * 25 + y * 5 + c] == want;
                        }
                    found = ok;
                }
            assertTrue(found, "image " + n + " is not a shifted copy");
        }
    }

    @Test
    void randomFlip() {
        Tensor x = Tensor.arange(2 * 2 * 2 * 3).reshape(2, 2, 2, 3);
        assertArrayEquals(x.toFloatArray(), Transforms.randomHorizontalFlip(x, 0, new Generator(1)).toFloatArray());
        Tensor f = Transforms.randomHorizontalFlip(x, 1, new Generator(1));
        assertEquals(x.get(1, 1, 0, 0), f.get(1, 1, 0, 2));
        assertEquals(x.get(0, 0, 1, 1), f.get(0, 0, 1, 1));
        assertEquals(0, x.get(0, 0, 0, 0)); // the input is unchanged
    }

    @Test
    void transformedDatasetIsReproducible() {
        var ds = new TensorDataset(Tensor.randn(new Generator(1), 8, 1, 4, 4), Tensor.fromLongs(new long[8], 8));
        Dataset aug = Datasets.transformed(ds, 5, (b, g) -> new Batch(Transforms.randomCrop(b.input(), 1, g), b.target()));
        int[] idx = {3, 1, 6};
        assertArrayEquals(aug.batch(idx).input().toFloatArray(), aug.batch(idx).input().toFloatArray());
        assertArrayEquals(new int[] {1, 4, 4}, aug.get(2).input().shape());
        List<float[]> seen = List.of(aug.batch(new int[] {0, 1, 2, 3, 4, 5, 6, 7}).input().toFloatArray(), ds.inputs().toFloatArray());
        assertFalse(Arrays.equals(seen.get(0), seen.get(1)));
    }
}
