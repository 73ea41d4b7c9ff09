package dev.kindling.models;

import dev.kindling.nn.BatchNorm2d;
import dev.kindling.nn.Conv2d;
import dev.kindling.nn.Functional;
import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.nn.Sequential;
import dev.kindling.tensor.ActivationArena;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * The CIFAR ResNets of He et al. 2015 (section 4.2): conv3x3(C→16) + BN + ReLU, three stages of n BasicBlocks
 * with 16, 32 and 64 channels (the 2nd and 3rd start with stride 2), global average pooling and a linear
 * classifier; depth 6n + 2 (ResNet-20: n = 3, 0.27 M parameters). Shortcuts that change the shape are
 * option B: a 1x1 convolution with stride 2 and batch norm ({@code downsample.0}, {@code downsample.1}), as in
 * torchvision; the others are identities.
 * <p>Names follow torchvision: conv1, bn1, layer1.0.conv1, layer1.0.bn1, ..., layer3.2.bn2, fc.
 * <p>Shape: input [N, C, H, W], output logits [N, classes].
 */
public class ResNet extends Module {
    public final int channels, numClasses, blocksPerStage;
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Sequential layer1, layer2, layer3;
    private final Linear fc;

    public ResNet(int channels, int blocksPerStage, int numClasses, Generator g) {
        if (channels <= 0 || blocksPerStage <= 0 || numClasses <= 0)
            throw new IllegalArgumentException("ResNet: channels, blocks per stage and classes must be positive, got "
                    + channels + ", " + blocksPerStage + ", " + numClasses);
        this.channels = channels;
        this.numClasses = numClasses;
        this.blocksPerStage = blocksPerStage;
        conv1 = register("conv1", conv(channels, 16, 3, 1, g));
        bn1 = register("bn1", new BatchNorm2d(16));
        layer1 = register("layer1", stage(16, 16, 1, blocksPerStage, g));
        layer2 = register("layer2", stage(16, 32, 2, blocksPerStage, g));
        layer3 = register("layer3", stage(32, 64, 2, blocksPerStage, g));
        fc = register("fc", new Linear(64, numClasses, true, g));
    }

    /** ResNet-20 (3 blocks per stage). */
    public static ResNet resnet20(int channels, int numClasses, Generator g) {
        return new ResNet(channels, 3, numClasses, g);
    }

    static Conv2d conv(int in, int out, int k, int stride, Generator g) {
        return new Conv2d(in, out, new int[] {k}, new int[] {stride}, new int[] {k / 2}, new int[] {1}, 1, false, g);
    }

    private static Sequential stage(int in, int out, int stride, int blocks, Generator g) {
        Sequential s = new Sequential();
        for (int i = 0; i < blocks; i++) s.add(new BasicBlock(i == 0 ? in : out, out, i == 0 ? stride : 1, g));
        return s;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 4 || x.size(1) != channels)
            throw new IllegalArgumentException("ResNet: expects input [N, " + channels + ", H, W], got " + Arrays.toString(x.shape()));
        // the activations are recycled after backward (ActivationArena): this forward hands out nothing but its result
        Tensor in = x;
        return ActivationArena.run(() -> {
            Tensor h = bn1.forward(conv1.forward(in)).relu();                  // (N, 16, H, W)
            h = layer3.forward(layer2.forward(layer1.forward(h)));             // (N, 64, H/4, W/4)
            h = Functional.adaptiveAvgPool2d(h, 1, 1).flatten(1, -1);          // (N, 64)
            return fc.forward(h);
        });
    }

    /** conv3x3 → BN → ReLU → conv3x3 → BN, plus the shortcut, → ReLU. */
    public static final class BasicBlock extends Module {
        private final Conv2d conv1, conv2;
        private final BatchNorm2d bn1, bn2;
        private final Sequential downsample;

        public BasicBlock(int in, int out, int stride, Generator g) {
            conv1 = register("conv1", conv(in, out, 3, stride, g));
            bn1 = register("bn1", new BatchNorm2d(out));
            conv2 = register("conv2", conv(out, out, 3, 1, g));
            bn2 = register("bn2", new BatchNorm2d(out));
            downsample = stride != 1 || in != out
                    ? register("downsample", new Sequential(conv(in, out, 1, stride, g), new BatchNorm2d(out))) : null;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = bn2.forward(conv2.forward(bn1.forward(conv1.forward(x)).relu()));
            return y.add(downsample == null ? x : downsample.forward(x)).relu();
        }
    }
}
