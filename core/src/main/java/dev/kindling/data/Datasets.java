package dev.kindling.data;

import dev.kindling.tensor.Generator;
import java.util.ArrayList;
import java.util.List;

/** Dataset utilities: random splits and index subsets. */
public final class Datasets {
    private Datasets() {}

    /** A view of {@code dataset} restricted to {@code indices}. */
    public static Dataset subset(Dataset dataset, int[] indices) {
        for (int i : indices)
            if (i < 0 || i >= dataset.size()) throw new IndexOutOfBoundsException("subset: index " + i + " out of range for size " + dataset.size());
        int[] ix = indices.clone();
        return new Dataset() {
            @Override public int size() { return ix.length; }
            @Override public Example get(int i) { return dataset.get(ix[i]); }
            @Override public Batch batch(int[] idx) {
                int[] mapped = new int[idx.length];
                for (int k = 0; k < idx.length; k++) mapped[k] = ix[idx[k]];
                return dataset.batch(mapped);
            }
        };
    }

    /** Splits into non-overlapping random subsets of the given lengths (which must add up to the size). */
    public static List<Dataset> randomSplit(Dataset dataset, int[] lengths, long seed) {
        long total = 0;
        for (int l : lengths) {
            if (l < 0) throw new IllegalArgumentException("randomSplit: negative length " + l);
            total += l;
        }
        if (total != dataset.size())
            throw new IllegalArgumentException("randomSplit: lengths " + java.util.Arrays.toString(lengths) + " add up to " + total
                    + ", not the dataset size " + dataset.size());
        int[] perm = new int[dataset.size()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        new Generator(seed).shuffle(perm);
        List<Dataset> out = new ArrayList<>();
        int pos = 0;
        for (int l : lengths) {
            out.add(subset(dataset, java.util.Arrays.copyOfRange(perm, pos, pos + l)));
            pos += l;
        }
        return out;
    }

    /**
     * A view of {@code dataset} whose batches pass through {@code transform} (augmentation, normalisation). The
     * transform gets a Generator seeded from {@code seed} and the batch's sample indices, so a batch comes out the
     * same whenever it is drawn again: on any loader thread, and when a run is resumed.
     */
    public static Dataset transformed(Dataset dataset, long seed, java.util.function.BiFunction<Batch, Generator, Batch> transform) {
        return new Dataset() {
            @Override public int size() { return dataset.size(); }
            @Override public Example get(int i) {
                Batch b = batch(new int[] {i});
                return new Example(b.input().select(0, 0), b.target().select(0, 0));
            }
            @Override public Batch batch(int[] idx) {
                long h = seed;
                for (int i : idx) h = h * 0x9E3779B97F4A7C15L + i + 1;
                return transform.apply(dataset.batch(idx), new Generator(h));
            }
        };
    }

}
