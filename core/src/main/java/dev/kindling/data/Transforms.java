package dev.kindling.data;

import dev.kindling.tensor.Tensor;

/** Tensor transforms for image data. */
public final class Transforms {
    private Transforms() {}

    /** Unsigned bytes [N, ...] to FLOAT32 in [0, 1]. */
    public static Tensor scaleBytes(byte[] pixels, int... shape) {
        float[] out = new float[pixels.length];
        for (int i = 0; i < out.length; i++) out[i] = (pixels[i] & 0xFF) / 255f;
        return Tensor.wrap(out, shape);
    }

    /** (x - mean) / std. */
    public static Tensor normalize(Tensor x, double mean, double std) {
        if (!(std > 0)) throw new IllegalArgumentException("normalize: std must be positive, got " + std);
        return x.sub(mean).div(std);
    }

    /** [N, ...] to [N, rest]. */
    public static Tensor flatten(Tensor x) {
        return x.flatten(1, -1);
    }
}
