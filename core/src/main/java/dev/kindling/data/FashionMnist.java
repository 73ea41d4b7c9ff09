package dev.kindling.data;

import dev.kindling.io.Idx;
import dev.kindling.io.IdxArray;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST and MNIST (same IDX format) as TensorDatasets: images [N, 784] scaled to [0, 1] (like
 * torchvision's ToTensor, flattened) and INT64 labels [N]. Files may be plain or gzip; names as published.
 */
public final class FashionMnist {
    private FashionMnist() {}

    public static TensorDataset train(Path dir) {
        return load(dir, "train");
    }

    public static TensorDataset test(Path dir) {
        return load(dir, "t10k");
    }

    private static Path find(Path dir, String base) {
        for (String name : new String[] {base, base + ".gz"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        throw new IllegalArgumentException(dir + ": missing " + base + " (or " + base + ".gz); expected MNIST-format IDX files");
    }

    private static TensorDataset load(Path dir, String split) {
        try {
            Path imagesFile = find(dir, split + "-images-idx3-ubyte"), labelsFile = find(dir, split + "-labels-idx1-ubyte");
            IdxArray images = Idx.read(imagesFile), labels = Idx.read(labelsFile);
            if (images.dims().length != 3)
                throw new IllegalArgumentException(imagesFile + ": expected 3 dims (N, rows, cols), found " + images.dims().length);
            if (labels.dims().length != 1)
                throw new IllegalArgumentException(labelsFile + ": expected 1 dim (N), found " + labels.dims().length);
            int n = images.dims()[0], pixels = images.dims()[1] * images.dims()[2];
            if (labels.dims()[0] != n)
                throw new IllegalArgumentException(labelsFile + " has " + labels.dims()[0] + " labels but " + imagesFile + " has " + n + " images");
            long[] y = new long[n];
            byte[] lb = labels.data();
            for (int i = 0; i < n; i++) {
                y[i] = lb[i] & 0xFF;
                if (y[i] > 9) throw new IllegalArgumentException(labelsFile + ": label " + y[i] + " at index " + i + " is not a class 0-9");
            }
            return new TensorDataset(Transforms.scaleBytes(images.data(), n, pixels), Tensor.wrapLongs(y, n));
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}
