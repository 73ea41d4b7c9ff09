package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.data.Batch;
import dev.kindling.data.DataLoader;
import dev.kindling.data.TensorDataset;
import dev.kindling.optim.Adam;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;

class TrainingSmokeTest {
    static final class SimpleNN extends Module {
        final Linear layer1, layer2;

        SimpleNN(int in, int hidden, int classes, Generator g) {
            layer1 = register("layer1", new Linear(in, hidden, true, g));
            layer2 = register("layer2", new Linear(hidden, classes, true, g));
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer2.forward(layer1.forward(x).relu());
        }
    }

    @Test
    void mlpLearnsASeparableProblem() {
        var g = new Generator(7);
        int n = 512, d = 10, classes = 3;
        Tensor x = Tensor.randn(g, n, d);
        // label = argmax of three fixed projections
        Tensor proj = Tensor.randn(g, d, classes);
        Tensor y = x.matmul(proj).argmax(1, false);
        var model = new SimpleNN(d, 32, classes, g);
        var opt = new Adam(model.parameters(), 1e-2);
        var loss = new CrossEntropyLoss();
        var loader = DataLoader.builder(new TensorDataset(x, y)).batchSize(64).shuffle(1).build();
        double first = Double.NaN, last = 0;
        for (int epoch = 0; epoch < 20; epoch++) {
            double sum = 0;
            int k = 0;
            for (Batch b : loader) {
                Tensor l = loss.forward(model.forward(b.input()), b.target());
                opt.zeroGrad();
                l.backward();
                opt.step();
                sum += l.item();
                k++;
            }
            if (epoch == 0) first = sum / k;
            last = sum / k;
        }
        assertTrue(last < first * 0.3, "loss should fall a lot: first " + first + " last " + last);
        Tensor pred = model.forward(x).argmax(1, false);
        double acc = pred.eq(y).to(dev.kindling.tensor.DType.FLOAT32).mean().item();
        assertTrue(acc > 0.9, "accuracy " + acc);
    }
}
