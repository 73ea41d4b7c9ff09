package dev.kindling.models;

import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;

/**
 * A lookup table (word, position or token type embeddings) over a {@link WeightMatrix}; its matrix is the
 * parameter "weight" when it is FLOAT32, and frozen otherwise.
 */
final class WeightTable extends Module {
    final WeightMatrix w;
    final String what;

    WeightTable(WeightMatrix w, String what) {
        this.w = w;
        this.what = what;
        if (w.f32 != null) registerParameter("weight", w.f32);
    }

    @Override
    public Tensor forward(Tensor ids) {
        return w.lookup(ids, what);
    }
}
