package dev.kindling.distributed;

/**
 * The element-wise combining step of the collectives, on heap arrays. Plain loops on purpose: the transports
 * call them a few times per training step with long ranges, so they run while the JIT is still deciding
 * about them; a loop over {@code float[]} is fast at every tier (and C2 vectorizes it), where Vector API code
 * over memory segments fell back to allocating interpreted paths for many steps and was deoptimized whenever
 * another caller's segment type polluted the shared profile.
 */
final class Reduction {
    private Reduction() {
    }

    /** {@code acc[accOff, accOff + len) = acc op x[xOff, xOff + len)}; AVG sums (the caller scales once at the end). */
    static void combine(ReduceOp op, float[] acc, int accOff, float[] x, int xOff, int len) {
        if (op == ReduceOp.MAX) {
            for (int i = 0; i < len; i++) acc[accOff + i] = Math.max(acc[accOff + i], x[xOff + i]);
        } else {
            for (int i = 0; i < len; i++) acc[accOff + i] += x[xOff + i];
        }
    }

    /** Multiplies {@code a[off, off + len)} by {@code s} (the 1 / n of an average); nothing when {@code s} is 1. */
    static void scale(float[] a, int off, int len, float s) {
        if (s == 1f) return;
        for (int i = off; i < off + len; i++) a[i] *= s;
    }

    /** The factor that turns the reduced sum into the op's result: 1 / n for AVG, else 1. */
    static float finalScale(ReduceOp op, int worldSize) {
        return op == ReduceOp.AVG ? 1f / worldSize : 1f;
    }
}
