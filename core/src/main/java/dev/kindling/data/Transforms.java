package dev.kindling.data;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * Tensor transforms for image data. The random ones take a Generator and draw, image by image in batch order,
 * the same numbers for the same seed, so augmented runs repeat exactly.
 */
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

    /** Per-channel (x - mean[c]) / std[c] on [N, C, H, W] or [C, H, W] (torchvision's Normalize). */
    public static Tensor normalize(Tensor x, float[] mean, float[] std) {
        if (x.dim() != 3 && x.dim() != 4)
            throw new IllegalArgumentException("normalize: expects [N, C, H, W] or [C, H, W], got shape " + Arrays.toString(x.shape()));
        int c = x.size(-3);
        if (mean.length != c || std.length != c)
            throw new IllegalArgumentException("normalize: " + mean.length + " means and " + std.length + " stds for " + c + " channels");
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("normalize: std must be positive, got " + Arrays.toString(std));
        int[] shape = new int[x.dim()];
        Arrays.fill(shape, 1);
        shape[x.dim() - 3] = c;
        return x.sub(Tensor.fromArray(mean.clone(), shape)).div(Tensor.fromArray(std.clone(), shape));
    }

    /**
     * Pads each image of [N, C, H, W] by {@code padding} zeros on every side and cuts a random H x W window
     * (torchvision's RandomCrop(size, padding)): a shift of up to {@code padding} pixels, drawn per image.
     */
    public static Tensor randomCrop(Tensor x, int padding, Generator g) {
        checkImages("randomCrop", x);
        if (padding < 0) throw new IllegalArgumentException("randomCrop: padding must be >= 0, got " + padding);
        int n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        float[] in = x.contiguous().toFloatArray(), out = new float[in.length];
        for (int i = 0; i < n; i++) {
            int dy = g.nextInt(2 * padding + 1) - padding, dx = g.nextInt(2 * padding + 1) - padding;
            int x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
            for (int ch = 0; ch < c; ch++) {
                int plane = (i * c + ch) * h * w;
                for (int y = 0; y < h; y++) {
                    int sy = y + dy;
                    if (sy < 0 || sy >= h || x1 <= x0) continue;
                    System.arraycopy(in, plane + sy * w + x0 + dx, out, plane + y * w + x0, x1 - x0);
                }
            }
        }
        return Tensor.wrap(out, x.shape());
    }

    /** Mirrors each image of [N, C, H, W] left-right with probability {@code p}, drawn per image. */
    public static Tensor randomHorizontalFlip(Tensor x, double p, Generator g) {
        checkImages("randomHorizontalFlip", x);
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("randomHorizontalFlip: p must be in [0, 1], got " + p);
        int n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        float[] out = x.contiguous().toFloatArray();
        for (int i = 0; i < n; i++) {
            if (!(g.nextDouble() < p)) continue;
            for (int r = (i * c) * h; r < (i * c + c) * h; r++)
                for (int a = r * w, b = a + w - 1; a < b; a++, b--) {
                    float t = out[a];
                    out[a] = out[b];
                    out[b] = t;
                }
        }
        return Tensor.wrap(out, x.shape());
    }

    private static void checkImages(String op, Tensor x) {
        if (x.dim() != 4) throw new IllegalArgumentException(op + ": expects images [N, C, H, W], got shape " + Arrays.toString(x.shape()));
    }

}
