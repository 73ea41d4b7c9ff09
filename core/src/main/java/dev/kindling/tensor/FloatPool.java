package dev.kindling.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Large float arrays that backward has finished with, kept for the next allocation of the same length (and int
 * arrays, which some ops keep for their backward: {@link SavedBuffers}).
 * A GPT training step otherwise allocates gigabytes of fresh arrays (every op's output and every gradient), and
 * the collector then copies the activations that are still live into older generations at every young
 * collection: that copying, and the page faults of a growing heap, took more time than the kernels.
 * Only {@link Backprop}, {@link ActivationArena} and {@link SavedBuffers} give arrays back, and only arrays that nothing can see any more; the pool holds at most
 * an eighth of the maximum heap and drops what does not fit.
 */
final class FloatPool {
    /**
     * Smaller arrays (1 MiB and less) come cheaply from the thread's allocation buffer and die young; pooling them
     * made a SimpleNN step at batch 256 (arrays of 128K floats) 15% slower on two threads, while GPT steps, whose
     * activations are larger, kept their gain.
     */
    static final int MIN_LENGTH = 1 << 18;
    private static final long MAX_BYTES = Runtime.getRuntime().maxMemory() / 8;

    private static final Map<Integer, ArrayDeque<float[]>> FREE = new HashMap<>();
    private static final Map<Integer, ArrayDeque<int[]>> FREE_INTS = new HashMap<>();
    /** The arrays now in FREE or FREE_INTS: an array given back twice must not be handed out twice. */
    private static final Set<Object> POOLED = Collections.newSetFromMap(new IdentityHashMap<>());
    private static long pooledBytes;

    private FloatPool() {}

    /** A zero-filled array of length n, recycled when one of that length is free. */
    static float[] zeros(int n) {
        float[] a = n >= ActivationArena.MIN_LENGTH ? poll(n) : null;
        if (a == null) a = new float[n];
        else Arrays.fill(a, 0f);
        if (n >= ActivationArena.MIN_LENGTH) ActivationArena.note(a);
        return a;
    }

    /**
     * An array of length n whose contents are unspecified (a recycled one keeps its old values): for kernels that
     * write every element, which then skip the zero-filling pass (a tenth of a GPT step went to zeroing).
     */
    static float[] uninitialized(int n) {
        float[] a = n >= ActivationArena.MIN_LENGTH ? poll(n) : null;
        if (a == null) a = new float[n];
        if (n >= ActivationArena.MIN_LENGTH) ActivationArena.note(a);
        return a;
    }

    private static float[] poll(int n) {
        return take(FREE, n);
    }

    /** An int array of length n whose contents are unspecified, recycled when one of that length is free. */
    static int[] ints(int n) {
        int[] a = n >= ActivationArena.MIN_LENGTH ? take(FREE_INTS, n) : null;
        return a == null ? new int[n] : a;
    }

    /** Gives back an int array of at least {@code minLength} elements that nothing refers to any more. */
    static void recycle(int[] a, int minLength) {
        give(FREE_INTS, a, a.length, minLength);
    }

    /** A free array of n 4-byte elements from {@code free}, or null. */
    private static synchronized <A> A take(Map<Integer, ArrayDeque<A>> free, int n) {
        ArrayDeque<A> q = free.get(n);
        A a = q == null ? null : q.pollLast();
        if (a != null) {
            pooledBytes -= 4L * n;
            POOLED.remove(a);
        }
        return a;
    }

    /** Puts array a of {@code length} 4-byte elements into {@code free}, unless it is too short, too big or already there. */
    private static synchronized <A> void give(Map<Integer, ArrayDeque<A>> free, A a, int length, int minLength) {
        if (length < minLength || pooledBytes + 4L * length > MAX_BYTES || !POOLED.add(a)) return;
        free.computeIfAbsent(length, k -> new ArrayDeque<>()).addLast(a);
        pooledBytes += 4L * length;
    }

    /** Gives back a gradient array that no tensor, gradient or kernel refers to any more. */
    static void recycle(float[] a) {
        recycle(a, MIN_LENGTH);
    }

    /**
     * Gives back an array of at least {@code minLength} floats that nothing refers to any more ({@link ActivationArena}
     * pools smaller arrays than backward's gradients: forwards allocate the same lengths step after step).
     */
    static void recycle(float[] a, int minLength) {
        give(FREE, a, a.length, minLength);
    }

    /** Bytes held by the pool now (tests and benchmarks). */
    static synchronized long pooledBytes() {
        return pooledBytes;
    }
}
