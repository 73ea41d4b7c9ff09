package dev.kindling.nn;

/**
 * Per-thread scratch arrays for the convolution (column matrices, masked gradients, channels-last images, unpooled
 * gradients; on the calling thread the transposed weight and the weight-gradient partials), grown
 * on demand and reused across calls and steps: allocating them per call made a training step of the small CNN
 * allocate (and zero) tens of megabytes. Each slot is used by one phase of one call at a time on its thread;
 * contents are garbage on entry.
 */
final class ConvScratch {
    static final int COL = 0, DCOL = 1, GRAD = 2, CHANNELS_LAST = 3, ROWS = 4, UNPOOLED = 5, WEIGHT_T = 6, WEIGHT_PARTS = 7;
    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[8][]);

    private ConvScratch() {}

    /** A float array of at least {@code size} elements for {@code slot} on this thread. */
    static float[] get(int slot, int size) {
        float[][] s = SLOTS.get();
        float[] a = s[slot];
        if (a == null || a.length < size) s[slot] = a = new float[size];
        return a;
    }
}
