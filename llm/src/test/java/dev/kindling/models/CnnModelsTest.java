package dev.kindling.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.nn.Module;
import dev.kindling.optim.SGD;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;

class CnnModelsTest {
    @Test
    void smallCnnShapesAndNames() {
        var cifar = new SmallCnn(3, 32, 32, 10, new Generator(1));
        assertArrayEquals(new int[] {256, 8192}, cifar.namedParameters().get("fc1.weight").shape());
        assertArrayEquals(new int[] {2, 10}, cifar.forward(Tensor.zeros(2, 3, 32, 32)).shape());
        var mnist = new SmallCnn(1, 28, 28, 10, new Generator(1));
        assertArrayEquals(new int[] {256, 6272}, mnist.namedParameters().get("fc1.weight").shape());
        assertArrayEquals(new int[] {2, 10}, mnist.forward(Tensor.zeros(2, 784)).shape()); // flat IDX rows are reshaped
        var e = assertThrows(IllegalArgumentException.class, () -> cifar.forward(Tensor.zeros(2, 1, 32, 32)));
        assertTrue(e.getMessage().contains("[N, 3, 32, 32]"), e.getMessage());
    }

    /**
     * SmallCnn.forward recycles its activations and the convolutions' saved buffers after backward: a few SGD steps
     * give the same losses, logits and gradients bit for bit as the same model trained with nothing recycled (a
     * retained graph), steps of the two interleaved so that each reuses arrays the other gave back.
     */
    @Test
    void smallCnnTrainsTheSameWithRecycling() {
        trainTheSameWithRecycling(new SmallCnn(1, 12, 12, 3, new Generator(5)), new SmallCnn(1, 12, 12, 3, new Generator(5)),
                new Generator(6), 3, new int[] {4, 1, 12, 12}, 3);
    }

    /** ResNet.forward recycles its activations too: the same steps as a ResNet that recycles nothing. */
    @Test
    void resnetTrainsTheSameWithRecycling() {
        // 12 x 12 images: the first two stages pooled
        trainTheSameWithRecycling(ResNet.resnet20(3, 4, new Generator(8)), ResNet.resnet20(3, 4, new Generator(8)),
                new Generator(9), 2, new int[] {4, 3, 12, 12}, 4);
    }

    /**
     * SGD steps of two identical models on the same batches, interleaved: the first keeps its graph (nothing of it is
     * recycled), the second recycles; losses, logits and gradients must agree bit for bit at every step.
     */
    private static void trainTheSameWithRecycling(Module kept, Module recycled, Generator g, int steps, int[] xShape, int classes) {
        Module[] models = {kept, recycled};
        var opts = new SGD[] {new SGD(kept.parameters(), 0.05, 0.9), new SGD(recycled.parameters(), 0.05, 0.9)};
        var crit = new CrossEntropyLoss();
        for (int step = 0; step < steps; step++) {
            Tensor x = Tensor.randn(g, xShape), y = Tensor.randint(g, 0, classes, xShape[0]);
            float[][][] seen = new float[2][][];
            for (int m = 0; m < 2; m++) {
                Tensor logits = models[m].forward(x);
                Tensor loss = crit.forward(logits, y);
                opts[m].zeroGrad();
                loss.backward(null, m == 0);
                var params = models[m].parameters();
                seen[m] = new float[params.size() + 2][];
                seen[m][0] = new float[] {loss.item()};
                seen[m][1] = logits.toFloatArray();
                for (int i = 0; i < params.size(); i++) seen[m][i + 2] = params.get(i).grad().toFloatArray();
                opts[m].step();
            }
            for (int i = 0; i < seen[0].length; i++) assertArrayEquals(seen[0][i], seen[1][i], "step " + step + ", value " + i);
        }
    }

    @Test
    void resnet20() {
        var m = ResNet.resnet20(3, 10, new Generator(1));
        // 269,722 for the paper's parameter-free option A, plus the two 1x1 projection convs and their batch norms
        assertEquals(269_722 + 16 * 32 + 32 * 64 + 2 * (32 + 64), m.parameterCount());
        var keys = m.stateDict().keySet();
        for (String k : new String[] {"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.num_batches_tracked", "layer3.2.bn2.bias", "fc.weight"})
            assertTrue(keys.contains(k), k);
        assertArrayEquals(new int[] {2, 10}, m.forward(Tensor.randn(new Generator(2), 2, 3, 16, 16)).shape());
        m.eval();
        assertArrayEquals(new int[] {1, 10}, m.forward(Tensor.randn(new Generator(2), 1, 3, 8, 8)).shape());
    }

    @Test
    void smallCnnFitsABatch() {
        var g = new Generator(3);
        var m = new SmallCnn(1, 8, 8, 3, g);
        Tensor x = Tensor.randn(g, 6, 1, 8, 8);
        Tensor y = Tensor.fromLongs(new long[] {0, 1, 2, 0, 1, 2}, 6);
        var opt = new SGD(m.parameters(), 0.05, 0.9);
        var loss = new CrossEntropyLoss();
        float first = 0, last = 0;
        for (int i = 0; i < 30; i++) {
            Tensor l = loss.forward(m.forward(x), y);
            if (i == 0) first = l.item();
            last = l.item();
            opt.zeroGrad();
            l.backward();
            opt.step();
        }
        assertTrue(last < 0.2 * first, "loss " + first + " -> " + last);
    }
}
