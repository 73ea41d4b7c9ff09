package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.io.Idx;
import dev.kindling.io.IdxArray;
import dev.kindling.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
    @TempDir
    Path dir;

    /**
     * The real Fashion-MNIST folder: system property kindling.fashionMnist, else FASHION_MNIST_DIR, else where
     * Debian's dataset-fashion-mnist package puts it. A missing folder fails (CI installs the package): a
     * silently skipped test would prove nothing.
     */
    static Path realData() {
        String p = System.getProperty("kindling.fashionMnist");
        if (p == null) p = System.getenv("FASHION_MNIST_DIR");
        if (p == null) p = "/usr/share/datasets/fashion-mnist";
        Path d = Path.of(p);
        if (!Files.isRegularFile(d.resolve("train-images-idx3-ubyte.gz")) && !Files.isRegularFile(d.resolve("train-images-idx3-ubyte")))
            fail("Fashion-MNIST not found in " + d + ": install it (apt-get install dataset-fashion-mnist) or point"
                    + " -Dkindling.fashionMnist or FASHION_MNIST_DIR at a folder with the four IDX files");
        return d;
    }

    private static int[] classCounts(TensorDataset ds) {
        int[] counts = new int[10];
        for (long y : ds.targets().toLongArray()) counts[(int) y]++;
        return counts;
    }

    @Test
    void loadsTheRealFiles() {
        Path d = realData();
        TensorDataset train = FashionMnist.train(d), test = FashionMnist.test(d);
        assertEquals(60_000, train.size());
        assertEquals(10_000, test.size());
        assertArrayEquals(new int[] {60_000, 784}, train.inputs().shape());
        assertArrayEquals(new int[] {10_000, 784}, test.inputs().shape());
        assertEquals(DType.FLOAT32, train.inputs().dtype());
        assertEquals(DType.INT64, train.targets().dtype());
        // Fashion-MNIST is balanced: 6,000 and 1,000 images per class
        int[] six = new int[10], one = new int[10];
        Arrays.fill(six, 6000);
        Arrays.fill(one, 1000);
        assertArrayEquals(six, classCounts(train));
        assertArrayEquals(one, classCounts(test));
        // the first labels as published (9 = ankle boot) and the first image's pixel sum (76,247 / 255)
        assertArrayEquals(new long[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, Arrays.copyOf(train.targets().toLongArray(), 10));
        assertArrayEquals(new long[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, Arrays.copyOf(test.targets().toLongArray(), 10));
        float[] first = train.inputs().select(0, 0).toFloatArray();
        double sum = 0, max = 0, min = 1;
        for (float v : first) {
            sum += v;
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        assertEquals(76_247 / 255.0, sum, 1e-3);
        assertEquals(1.0, max, 0);
        assertEquals(0.0, min, 0);
        assertEquals(0.2860, train.inputs().mean().item(), 1e-4, "the well-known mean pixel value");
    }

    /** A small MNIST-format folder: n images of 28x28 and n labels, plain or gzip. */
    private Path writeFolder(String name, int n, boolean gzip) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        byte[] px = new byte[n * 784], lb = new byte[n];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        for (int i = 0; i < n; i++) lb[i] = (byte) (i % 10);
        String gz = gzip ? ".gz" : "";
        for (String split : new String[] {"train", "t10k"}) {
            Idx.write(d.resolve(split + "-images-idx3-ubyte" + gz), new IdxArray(new int[] {n, 28, 28}, px), gzip);
            Idx.write(d.resolve(split + "-labels-idx1-ubyte" + gz), new IdxArray(new int[] {n}, lb), gzip);
        }
        return d;
    }

    @Test
    void readsGeneratedFolders() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            TensorDataset ds = FashionMnist.train(writeFolder("ok-" + gz, 12, gz));
            assertEquals(12, ds.size());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, ds.targets().toLongArray());
            assertEquals((5 * 7 & 0xFF) / 255f, ds.inputs().get(0, 5), 1e-7f);
        }
    }

    private static String error(Path d) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> FashionMnist.train(d));
        assertTrue(e instanceof IllegalArgumentException || e instanceof java.io.UncheckedIOException, e.toString());
        return e.getMessage();
    }

    @Test
    void aMissingFileIsNamed() throws IOException {
        Path d = writeFolder("missing", 5, false);
        Files.delete(d.resolve("train-labels-idx1-ubyte"));
        String msg = error(d);
        assertTrue(msg.contains("missing train-labels-idx1-ubyte"), msg);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(error(empty).contains("missing train-images-idx3-ubyte"));
    }

    @Test
    void aTruncatedFileIsNamedWithItsSize() throws IOException {
        Path d = writeFolder("truncated", 5, false);
        Path images = d.resolve("train-images-idx3-ubyte");
        byte[] bytes = Files.readAllBytes(images);
        Files.write(images, Arrays.copyOf(bytes, bytes.length - 100));
        String msg = error(d);
        assertTrue(msg.contains(images.toString()), msg);
        assertTrue(msg.contains(Integer.toString(bytes.length - 100)) || msg.contains("truncated"), msg);

        Path g = writeFolder("truncated-gz", 5, true);
        Path gzLabels = g.resolve("train-labels-idx1-ubyte.gz");
        byte[] gzBytes = Files.readAllBytes(gzLabels);
        Files.write(gzLabels, Arrays.copyOf(gzBytes, gzBytes.length / 2));
        String gmsg = error(g);
        assertTrue(gmsg.contains(gzLabels.toString()), gmsg);
    }

    @Test
    void inconsistentFilesAreRejected() throws IOException {
        Path d = writeFolder("counts", 5, false);
        Idx.write(d.resolve("train-labels-idx1-ubyte"), new IdxArray(new int[] {4}, new byte[4]), false);
        String msg = error(d);
        assertTrue(msg.contains("4 labels") && msg.contains("5 images"), msg);

        Path l = writeFolder("label", 3, false);
        Idx.write(l.resolve("train-labels-idx1-ubyte"), new IdxArray(new int[] {3}, new byte[] {1, 12, 2}), false);
        assertTrue(error(l).contains("label 12 at index 1"));

        Path flat = writeFolder("dims", 3, false);
        Idx.write(flat.resolve("train-images-idx3-ubyte"), new IdxArray(new int[] {3, 784}, new byte[3 * 784]), false);
        assertTrue(error(flat).contains("expected 3 dims"));
    }
}
