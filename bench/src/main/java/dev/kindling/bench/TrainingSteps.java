package dev.kindling.bench;

import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.models.Mlp;
import dev.kindling.models.SmallCnn;
import dev.kindling.nn.CrossEntropyLoss;
import dev.kindling.nn.Functional;
import dev.kindling.optim.Adam;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.ParamGroup;
import dev.kindling.optim.SGD;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Kindling's side of the training-step benchmarks: the same models, data shapes and loops as bench/reference/*.py. */
final class TrainingSteps {
    private TrainingSteps() {}

    /**
     * Runs at least {@code steps} steps and for at least {@code seconds}: by time, not by count. 30 baby-GPT iterations
     * (about 1.5 s) ended a warm-up while C2 was still compiling the Vector API kernels, and the timed rounds then paid
     * for the compiles and for the Vector API's Java fallback that runs before them (JFR of the SimpleNN step under
     * load: fallback frames for its first 10 s).
     */
    static void warmUp(Runnable step, int steps, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        for (int i = 0; i < steps || System.nanoTime() < end; i++) step.run();
    }

    /** SimpleNN 784-500-10 with Adam: samples/s, median of reps. */
    static double mlpSamplesPerSecond(int batch, int steps, int reps) {
        Runnable step = mlpStep(batch);
        warmUp(step, 300, 5);
        double[] rates = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step.run();
            rates[r] = steps * (double) batch / ((System.nanoTime() - t0) / 1e9);
        }
        return median(rates);
    }

    /** One SimpleNN 784-500-10 Adam step on a fixed random batch. */
    static Runnable mlpStep(int batch) {
        var g = new Generator(1);
        var model = new Mlp(784, 500, 10, g);
        var opt = new Adam(model.parameters(), 1e-3);
        var crit = new CrossEntropyLoss();
        Tensor x = Tensor.rand(g, batch, 784), y = Tensor.randint(g, 0, 10, batch);
        return () -> {
            Tensor loss = crit.forward(model.forward(x), y);
            opt.zeroGrad();
            loss.backward();
            opt.step();
        };
    }

    /** The small CNN on 3x32x32 inputs with SGD (lr 0.01, momentum 0.9): images/s, median of reps (bench/reference/cnn_step.py). */
    static double cnnImagesPerSecond(int batch, int steps, int reps) {
        Runnable step = cnnStep(batch);
        warmUp(step, 40, 5);
        double[] rates = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step.run();
            rates[r] = steps * (double) batch / ((System.nanoTime() - t0) / 1e9);
        }
        return median(rates);
    }

    /** One small-CNN SGD step on a fixed random batch of 3x32x32 images. */
    static Runnable cnnStep(int batch) {
        var g = new Generator(1);
        var model = new SmallCnn(3, 32, 32, 10, g);
        var opt = new SGD(model.parameters(), 0.01, 0.9);
        var crit = new CrossEntropyLoss();
        Tensor x = Tensor.randn(g, batch, 3, 32, 32), y = Tensor.randint(g, 0, 10, batch);
        return () -> {
            Tensor loss = crit.forward(model.forward(x), y);
            opt.zeroGrad();
            loss.backward();
            opt.step();
        };
    }

    /** One GPT iteration (forward, backward, clip, AdamW): ms/iter, median of reps. */
    static double gptMsPerIter(int nLayer, int nHead, int nEmbd, int block, int batch, int vocab, int iters, int reps) {
        Runnable step = gptStep(nLayer, nHead, nEmbd, block, batch, vocab);
        warmUp(step, 5, 10);
        double[] ms = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) step.run();
            ms[r] = (System.nanoTime() - t0) / 1e6 / iters;
        }
        return median(ms);
    }

    /** One GPT iteration (forward, backward, clip, AdamW) on a fixed random batch. */
    static Runnable gptStep(int nLayer, int nHead, int nEmbd, int block, int batch, int vocab) {
        var g = new Generator(1);
        var model = new Gpt(new GptConfig(vocab, block, nLayer, nHead, nEmbd, 0, true), g);
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
        var opt = new AdamW(List.of(new ParamGroup(decay, 1e-3, 0.1), new ParamGroup(noDecay, 1e-3, 0)), 0.9, 0.99, 1e-8);
        Tensor x = Tensor.randint(g, 0, vocab, batch, block), y = Tensor.randint(g, 0, vocab, batch, block);
        return () -> {
            Tensor logits = model.forward(x);
            Tensor loss = Functional.crossEntropy(logits.reshape(-1, vocab), y.reshape(-1));
            loss.backward();
            GradClip.clipGradNorm(model.parameters(), 1.0);
            opt.step();
            opt.zeroGrad();
        };
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
