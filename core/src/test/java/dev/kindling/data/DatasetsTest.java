package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DatasetsTest {
    private static long[] targets(Dataset d) {
        long[] out = new long[d.size()];
        for (int i = 0; i < out.length; i++) out[i] = d.get(i).target().getLong();
        return out;
    }

    @Test
    void randomSplitSizesAreDisjointAndCoverEverything() {
        TensorDataset ds = DataLoaderTest.indexed(100);
        List<Dataset> parts = Datasets.randomSplit(ds, new int[] {70, 20, 10}, 5);
        assertEquals(List.of(70, 20, 10), parts.stream().map(Dataset::size).toList());
        Set<Long> seen = new HashSet<>();
        for (Dataset p : parts) for (long t : targets(p)) assertTrue(seen.add(t), "index " + t + " is in two parts");
        assertEquals(100, seen.size());
        // shuffled, not the first 70
        long[] first = targets(parts.get(0));
        boolean inOrder = true;
        for (int i = 0; i < first.length; i++) inOrder &= first[i] == i;
        assertTrue(!inOrder);
        // the same seed, the same split; batches of a part come from the right samples
        assertArrayEquals(first, targets(Datasets.randomSplit(ds, new int[] {70, 20, 10}, 5).get(0)));
        Batch b = parts.get(1).batch(new int[] {0, 3});
        long[] second = targets(parts.get(1));
        assertArrayEquals(new long[] {second[0], second[3]}, b.target().toLongArray());
        assertArrayEquals(new float[] {second[0], -second[0], second[3], -second[3]}, b.input().toFloatArray(), 0f);
        // empty parts are allowed
        assertEquals(0, Datasets.randomSplit(ds, new int[] {100, 0}, 1).get(1).size());
    }

    @Test
    void randomSplitRejectsBadLengths() {
        TensorDataset ds = DataLoaderTest.indexed(10);
        var e = assertThrows(IllegalArgumentException.class, () -> Datasets.randomSplit(ds, new int[] {5, 4}, 1));
        assertTrue(e.getMessage().contains("[5, 4] add up to 9, not the dataset size 10"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Datasets.randomSplit(ds, new int[] {5, 6}, 1));
        var neg = assertThrows(IllegalArgumentException.class, () -> Datasets.randomSplit(ds, new int[] {12, -2}, 1));
        assertTrue(neg.getMessage().contains("-2"), neg.getMessage());
    }

    @Test
    void subsetMapsIndicesAndChecksThem() {
        TensorDataset ds = DataLoaderTest.indexed(10);
        Dataset s = Datasets.subset(ds, new int[] {9, 2, 2});
        assertArrayEquals(new long[] {9, 2, 2}, targets(s));
        var e = assertThrows(IndexOutOfBoundsException.class, () -> Datasets.subset(ds, new int[] {1, 10}));
        assertTrue(e.getMessage().contains("index 10 out of range for size 10"), e.getMessage());
    }

    @Test
    void tensorDatasetKeepsIntegerTargetsInteger() {
        long[] labels = {3, 1L << 40, 7, 0};
        TensorDataset ds = new TensorDataset(Tensor.zeros(4, 3), Tensor.fromLongs(labels, 4));
        Batch b = ds.batch(new int[] {1, 3});
        assertEquals(DType.INT64, b.target().dtype());
        assertArrayEquals(new long[] {1L << 40, 0}, b.target().toLongArray(), "large ids survive (no trip through float)");
        assertEquals(DType.INT64, ds.get(0).target().dtype());
        assertEquals(7, ds.get(2).target().getLong());
        TensorDataset sub = ds.subset(new int[] {2, 0});
        assertEquals(DType.INT64, sub.targets().dtype());
        assertArrayEquals(new long[] {7, 3}, sub.targets().toLongArray());
        // multi-dim integer targets (token sequences) and float targets
        TensorDataset seq = new TensorDataset(Tensor.zeros(3, 2), Tensor.fromLongs(new long[] {1, 2, 3, 4, 5, 6}, 3, 2));
        Batch sb = seq.batch(new int[] {2, 0});
        assertArrayEquals(new int[] {2, 2}, sb.target().shape());
        assertArrayEquals(new long[] {5, 6, 1, 2}, sb.target().toLongArray());
        TensorDataset reg = new TensorDataset(Tensor.zeros(3, 2), Tensor.fromArray(new float[] {0.5f, 1.5f, 2.5f}, 3));
        assertEquals(DType.FLOAT32, reg.batch(new int[] {1}).target().dtype());
        assertArrayEquals(new float[] {1.5f}, reg.batch(new int[] {1}).target().toFloatArray(), 0f);
        var e = assertThrows(IllegalArgumentException.class, () -> new TensorDataset(Tensor.zeros(4, 3), Tensor.zeros(5)));
        assertTrue(e.getMessage().contains("[4, 3]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    @Test
    void transforms() {
        Tensor x = Transforms.scaleBytes(new byte[] {0, (byte) 255, (byte) 51, (byte) 128}, 2, 2);
        assertArrayEquals(new float[] {0, 1, 0.2f, 128 / 255f}, x.toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {-1, 1, -0.6f, 128 / 255f * 2 - 1}, Transforms.normalize(x, 0.5, 0.5).toFloatArray(), 1e-6f);
        assertArrayEquals(new int[] {2, 12}, Transforms.flatten(Tensor.zeros(2, 3, 4)).shape());
        assertThrows(IllegalArgumentException.class, () -> Transforms.normalize(x, 0, 0));
    }
}
