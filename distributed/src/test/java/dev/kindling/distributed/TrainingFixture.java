package dev.kindling.distributed;

import dev.kindling.nn.Linear;
import dev.kindling.nn.MSELoss;
import dev.kindling.nn.Module;
import dev.kindling.nn.ReLU;
import dev.kindling.nn.Sequential;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.Optimizer;
import dev.kindling.optim.SGD;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.List;
import java.util.Random;

/** A small MLP regression task whose batches can be split across ranks. */
final class TrainingFixture {
    static final int IN = 6, HIDDEN = 16, OUT = 4, BATCH = 8, STEPS = 20;

    static Module mlp(long seed) {
        Generator g = new Generator(seed);
        return new Sequential(new Linear(IN, HIDDEN, true, g), new ReLU(), new Linear(HIDDEN, OUT, true, g));
    }

    static Optimizer optimizer(String kind, List<Tensor> params) {
        return switch (kind) {
            case "sgd" -> new SGD(params, 0.05, 0.9);
            case "adamw" -> new AdamW(params, 0.01, 0.1);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** Rows [from, to) of step {@code step}'s batch: inputs and targets. */
    static Tensor[] batch(int step, int from, int to) {
        return batch(step, BATCH, from, to);
    }

    /** Rows [from, to) of step {@code step}'s batch of {@code rows} rows: inputs and targets. */
    static Tensor[] batch(int step, int rows, int from, int to) {
        Random r = new Random(1000 + step);
        float[] x = new float[rows * IN], y = new float[rows * OUT];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
        float[] xs = new float[(to - from) * IN], ys = new float[(to - from) * OUT];
        System.arraycopy(x, from * IN, xs, 0, xs.length);
        System.arraycopy(y, from * OUT, ys, 0, ys.length);
        return new Tensor[] {Tensor.fromArray(xs, to - from, IN), Tensor.fromArray(ys, to - from, OUT)};
    }

    static Tensor loss(Module m, Tensor[] b) {
        return new MSELoss().forward(m.forward(b[0]), b[1]);
    }

    /** The reference: one process, the whole batch each step. Returns the final parameters, flattened. */
    static float[] trainSingle(String optimizer) {
        return trainSingle(optimizer, BATCH);
    }

    /** The reference: one process, batches of {@code rows} rows. Returns the final parameters, flattened. */
    static float[] trainSingle(String optimizer, int rows) {
        Module m = mlp(1);
        Optimizer opt = optimizer(optimizer, m.parameters());
        for (int s = 0; s < STEPS; s++) {
            opt.zeroGrad();
            loss(m, batch(s, rows, 0, rows)).backward();
            opt.step();
        }
        return flatten(m);
    }

    static float[] flatten(Module m) {
        List<Tensor> ps = m.parameters();
        int n = 0;
        for (Tensor p : ps) n += p.numel();
        float[] out = new float[n];
        int o = 0;
        for (Tensor p : ps) {
            Flat.read(p, out, o);
            o += p.numel();
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, double rel, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            double tol = rel * Math.max(1e-2, Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tol))
                throw new AssertionError(what + ": parameter value " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }
}
