package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/** In-place initialisers with PyTorch's formulas (torch.nn.init); each takes a Generator. */
public final class Init {
    private Init() {}

    private static float[] data(Tensor t) {
        return t.floatData();
    }

    /** fan_in and fan_out as PyTorch computes them: dim 1 and dim 0 times the receptive field. */
    static int[] fans(Tensor t) {
        int[] s = t.shape();
        if (s.length < 2) throw new IllegalArgumentException("fan in/out needs at least 2 dims, got shape " + java.util.Arrays.toString(s));
        int receptive = 1;
        for (int i = 2; i < s.length; i++) receptive *= s[i];
        return new int[] {s[1] * receptive, s[0] * receptive};
    }

    public static Tensor uniform(Tensor t, double low, double high, Generator g) {
        float[] d = data(t);
        for (int i = 0; i < d.length; i++) d[i] = (float) (low + (high - low) * g.nextDouble());
        return t;
    }

    public static Tensor normal(Tensor t, double mean, double std, Generator g) {
        float[] d = data(t);
        for (int i = 0; i < d.length; i++) d[i] = (float) (mean + std * g.nextGaussian());
        return t;
    }

    public static Tensor zeros(Tensor t) {
        java.util.Arrays.fill(data(t), 0f);
        return t;
    }

    public static Tensor ones(Tensor t) {
        java.util.Arrays.fill(data(t), 1f);
        return t;
    }

    public static Tensor constant(Tensor t, double v) {
        java.util.Arrays.fill(data(t), (float) v);
        return t;
    }

    /** Recommended gain for a nonlinearity ("linear", "relu", "leaky_relu" with slope a, "tanh", "sigmoid"). */
    public static double gain(String nonlinearity, double a) {
        return switch (nonlinearity) {
            case "linear", "sigmoid", "conv2d" -> 1;
            case "tanh" -> 5.0 / 3;
            case "relu" -> Math.sqrt(2);
            case "leaky_relu" -> Math.sqrt(2 / (1 + a * a));
            default -> throw new IllegalArgumentException("gain: unknown nonlinearity '" + nonlinearity + "'");
        };
    }

    public static Tensor xavierUniform(Tensor t, double gain, Generator g) {
        int[] f = fans(t);
        double a = gain * Math.sqrt(6.0 / (f[0] + f[1]));
        return uniform(t, -a, a, g);
    }

    public static Tensor xavierNormal(Tensor t, double gain, Generator g) {
        int[] f = fans(t);
        return normal(t, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])), g);
    }

    /** Kaiming uniform with fan_in mode: bound = gain * sqrt(3 / fan_in). */
    public static Tensor kaimingUniform(Tensor t, double a, String nonlinearity, boolean fanIn, Generator g) {
        int[] f = fans(t);
        double bound = gain(nonlinearity, a) * Math.sqrt(3.0 / (fanIn ? f[0] : f[1]));
        return uniform(t, -bound, bound, g);
    }

    public static Tensor kaimingNormal(Tensor t, double a, String nonlinearity, boolean fanIn, Generator g) {
        int[] f = fans(t);
        return normal(t, 0, gain(nonlinearity, a) / Math.sqrt(fanIn ? f[0] : f[1]), g);
    }
}
