package dev.kindling.data;

import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** A map-style dataset: a size and random access to samples (PyTorch's Dataset). */
public interface Dataset {
    int size();

    Example get(int index);

    /**
     * The samples at {@code indices} as one batch. The default collates {@link #get} results with
     * {@link #stack}; datasets backed by big tensors override it with one gather.
     */
    default Batch batch(int[] indices) {
        List<Example> ex = new ArrayList<>(indices.length);
        for (int i : indices) ex.add(get(i));
        return stack(ex);
    }

    /** The default collate step: stacks inputs and targets along a new dim 0. */
    static Batch stack(List<Example> examples) {
        if (examples.isEmpty()) throw new IllegalArgumentException("collate: empty batch");
        List<Tensor> in = new ArrayList<>(examples.size()), tg = new ArrayList<>(examples.size());
        for (Example e : examples) {
            in.add(e.input());
            tg.add(e.target());
        }
        return new Batch(Tensor.stack(in, 0), Tensor.stack(tg, 0));
    }
}
