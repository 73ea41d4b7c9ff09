package dev.kindling.data;

import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CIFAR-10 in its binary format ({@code cifar-10-binary.tar.gz}): {@code data_batch_1.bin} ...
 * {@code data_batch_5.bin} and {@code test_batch.bin}, each a sequence of 3073-byte records: one label byte
 * (0-9), then 1024 red, 1024 green and 1024 blue pixel bytes of a 32x32 image, row-major. Loaded as
 * TensorDatasets of images [N, 3, 32, 32] scaled to [0, 1] (torchvision's ToTensor) and INT64 labels [N].
 * The folder may hold the files or the {@code cifar-10-batches-bin} folder the archive unpacks to.
 */
public final class Cifar10 {
    /** Bytes per record: the label and 3 x 32 x 32 pixels. */
    public static final int RECORD = 1 + 3 * 32 * 32;
    /** The class names, in label order. */
    public static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

    private Cifar10() {}

    /** The five training batches (those present must be data_batch_1.bin upward without gaps). */
    public static TensorDataset train(Path dir) {
        Path d = resolve(dir);
        List<Path> files = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            Path p = d.resolve("data_batch_" + i + ".bin");
            if (!Files.isRegularFile(p)) break;
            files.add(p);
        }
        if (files.isEmpty()) throw new IllegalArgumentException(dir + ": no data_batch_1.bin; expected CIFAR-10 binary files");
        return read(files);
    }

    /** test_batch.bin. */
    public static TensorDataset test(Path dir) {
        Path p = resolve(dir).resolve("test_batch.bin");
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(dir + ": no test_batch.bin; expected CIFAR-10 binary files");
        return read(List.of(p));
    }

    /** Whether {@code dir} (or its cifar-10-batches-bin sub-folder) holds data_batch_1.bin and test_batch.bin. */
    public static boolean isCifar10(Path dir) {
        Path d = resolve(dir);
        return Files.isRegularFile(d.resolve("data_batch_1.bin")) && Files.isRegularFile(d.resolve("test_batch.bin"));
    }

    private static Path resolve(Path dir) {
        Path sub = dir.resolve("cifar-10-batches-bin");
        return Files.isDirectory(sub) ? sub : dir;
    }

    /**
     * Reads and concatenates record files.
     *
     * @throws IllegalArgumentException naming the file and byte offset of a partial record or a label outside 0-9
     */
    public static TensorDataset read(List<Path> files) {
        try {
            List<byte[]> contents = new ArrayList<>();
            long total = 0;
            for (Path f : files) {
                byte[] b = Files.readAllBytes(f);
                if (b.length % RECORD != 0)
                    throw new IllegalArgumentException("cifar10: " + f + " has " + b.length + " bytes, not a whole number of "
                            + RECORD + "-byte records: the record at offset " + (long) b.length / RECORD * RECORD + " is cut off after "
                            + b.length % RECORD + " bytes");
                for (int off = 0; off < b.length; off += RECORD)
                    if ((b[off] & 0xFF) > 9)
                        throw new IllegalArgumentException("cifar10: " + f + ": label " + (b[off] & 0xFF) + " at offset " + off
                                + " (record " + off / RECORD + ") is not a class 0-9");
                contents.add(b);
                total += b.length / RECORD;
            }
            if (total > Integer.MAX_VALUE / (RECORD - 1)) throw new IllegalArgumentException("cifar10: " + total + " records are too many for one tensor");
            int n = (int) total, px = RECORD - 1;
            float[] x = new float[n * px];
            long[] y = new long[n];
            int i = 0;
            for (byte[] b : contents) {
                for (int off = 0; off < b.length; off += RECORD, i++) {
                    y[i] = b[off] & 0xFF;
                    for (int j = 0; j < px; j++) x[i * px + j] = (b[off + 1 + j] & 0xFF) / 255f;
                }
            }
            return new TensorDataset(Tensor.wrap(x, n, 3, 32, 32), Tensor.wrapLongs(y, n));
        } catch (IOException e) {
            throw new UncheckedIOException("cifar10: " + e.getMessage(), e);
        }
    }
}
