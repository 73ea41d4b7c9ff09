package dev.kindling.models;

import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.tensor.ActivationArena;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * The seed's SimpleNN: Linear(in, hidden) → ReLU → Linear(hidden, classes). Parameter names
 * {@code layer1.weight}, {@code layer1.bias}, {@code layer2.weight}, {@code layer2.bias} match the PyTorch
 * program, so weights move between the two by name.
 * <p>Shape: input [N, in] (images are flattened), output logits [N, classes].
 */
public class Mlp extends Module {
    public final int inputSize, hiddenSize, numClasses;
    private final Linear layer1, layer2;

    public Mlp(int inputSize, int hiddenSize, int numClasses, Generator g) {
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.numClasses = numClasses;
        layer1 = register("layer1", new Linear(inputSize, hiddenSize, true, g));
        layer2 = register("layer2", new Linear(hiddenSize, numClasses, true, g));
    }

    /** In training, the hidden activations are reused by the next step's forward once backward has consumed them. */
    @Override
    public Tensor forward(Tensor x) {
        Tensor flat = x.dim() > 2 ? x.flatten(1, -1) : x;
        return ActivationArena.run(() -> layer2.forward(layer1.forward(flat).relu()));
    }
}
