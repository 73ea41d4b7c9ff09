package dev.kindling.tokenizers;

import java.util.Arrays;

/**
 * An open-addressing hash map from long keys (packed token-id pairs) to int values, so that the BPE hot loops
 * neither box nor allocate per lookup. Key {@link Long#MIN_VALUE} is reserved as the empty marker; pairs of
 * non-negative ids never produce it.
 */
final class LongIntMap {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys;
    private int[] values;
    private int size;
    private final int missing;

    /** A map whose {@link #get} returns {@code missing} for absent keys. */
    LongIntMap(int expected, int missing) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(keys, EMPTY);
        this.missing = missing;
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    static int left(long pair) {
        return (int) (pair >>> 32);
    }

    static int right(long pair) {
        return (int) pair;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L; // Fibonacci hashing spreads the packed pairs over the table
        int mask = keys.length - 1;
        int i = (int) (h ^ (h >>> 32)) & mask;
        while (keys[i] != EMPTY && keys[i] != key) i = (i + 1) & mask;
        return i;
    }

    int get(long key) {
        int i = slot(key);
        return keys[i] == EMPTY ? missing : values[i];
    }

    void put(long key, int value) {
        int i = slot(key);
        if (keys[i] == EMPTY) {
            keys[i] = key;
            size++;
            if (size * 2 > keys.length) {
                values[i] = value;
                grow();
                return;
            }
        }
        values[i] = value;
    }

    /** Adds {@code delta} to the value of {@code key} (absent counts as 0) and returns the new value. */
    int add(long key, int delta) {
        int i = slot(key);
        if (keys[i] == EMPTY) {
            put(key, delta);
            return delta;
        }
        return values[i] += delta;
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int j = slot(oldKeys[i]);
                keys[j] = oldKeys[i];
                values[j] = oldValues[i];
            }
        }
    }
}
