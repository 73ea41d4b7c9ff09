package dev.kindling.cli;

import dev.kindling.distributed.ColumnParallelLinear;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.RowParallelLinear;
import dev.kindling.models.Mlp;
import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Tensor;

/**
 * The SimpleNN MLP split over the ranks (train mlp --parallel tp): each rank holds a column-parallel slice
 * of layer1's hidden features and the matching row-parallel slice of layer2; one all-reduce forward, one
 * backward. Parameter names are the MLP's, so its state gathers into an Mlp checkpoint.
 */
final class TensorParallelMlp extends Module {
    private final ColumnParallelLinear layer1;
    private final RowParallelLinear layer2;

    /** This rank's part of {@code full} (the same weights on every rank). */
    TensorParallelMlp(Mlp full, ProcessGroup pg) {
        layer1 = register("layer1", new ColumnParallelLinear((Linear) full.children().get("layer1"), pg));
        layer2 = register("layer2", new RowParallelLinear((Linear) full.children().get("layer2"), pg));
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() > 2) x = x.flatten(1, -1);
        return layer2.forward(layer1.forward(x).relu());
    }
}
