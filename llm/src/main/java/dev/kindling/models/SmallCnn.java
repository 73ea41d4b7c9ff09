package dev.kindling.models;

import dev.kindling.nn.Conv2d;
import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.tensor.ActivationArena;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * A small VGG-style image classifier: conv3x3(C→32) → ReLU → conv3x3(32→64) → ReLU → maxpool 2 →
 * conv3x3(64→128) → ReLU → maxpool 2 → Linear(128·H/4·W/4 → 256) → ReLU → Linear(256 → classes). Convolutions
 * pad by 1, so for 3x32x32 (CIFAR-10) the flattened size is 8192 and for 1x28x28 (Fashion-MNIST) 6272.
 * <p>Names: conv1, conv2, conv3, fc1, fc2 (each .weight and .bias).
 * <p>Shape: input [N, C, H, W] (H and W divisible by 4), output logits [N, classes].
 */
public class SmallCnn extends Module {
    public final int channels, height, width, numClasses;
    private final Conv2d conv1, conv2, conv3;
    private final Linear fc1, fc2;

    public SmallCnn(int channels, int height, int width, int numClasses, Generator g) {
        if (channels <= 0 || height <= 0 || width <= 0 || height % 4 != 0 || width % 4 != 0 || numClasses <= 0)
            throw new IllegalArgumentException("SmallCnn: needs positive channels and classes and a size divisible by 4, got "
                    + channels + "x" + height + "x" + width + ", " + numClasses + " classes");
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.numClasses = numClasses;
        int[] one = {1};
        conv1 = register("conv1", new Conv2d(channels, 32, new int[] {3}, one, one, one, 1, true, g));
        conv2 = register("conv2", new Conv2d(32, 64, new int[] {3}, one, one, one, 1, true, g));
        conv3 = register("conv3", new Conv2d(64, 128, new int[] {3}, one, one, one, 1, true, g));
        fc1 = register("fc1", new Linear(128 * (height / 4) * (width / 4), 256, true, g));
        fc2 = register("fc2", new Linear(256, numClasses, true, g));
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() == 2 && x.size(1) == channels * height * width) x = x.reshape(x.size(0), channels, height, width); // flat IDX rows
        if (x.dim() != 4 || x.size(1) != channels || x.size(2) != height || x.size(3) != width)
            throw new IllegalArgumentException("SmallCnn: expects input [N, " + channels + ", " + height + ", " + width + "], got "
                    + Arrays.toString(x.shape()));
        // conv + ReLU (+ 2x2 max-pool) as one op each (Conv2d.forwardRelu, forwardReluMaxPool): no pre-activation or
        // pre-pooling tensors, no separate ReLU and pooling passes over them. The activations are recycled after
        // backward (ActivationArena): this forward hands out nothing but its result.
        Tensor in = x;
        return ActivationArena.run(() -> {
            Tensor h = conv2.forwardReluMaxPool(conv1.forwardRelu(in));   // (N, 64, H/2, W/2)
            h = conv3.forwardReluMaxPool(h);                              // (N, 128, H/4, W/4)
            return fc2.forward(fc1.forward(h.flatten(1, -1)).relu());    // (N, classes)
        });
    }
}
