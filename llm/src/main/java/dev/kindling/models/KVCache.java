package dev.kindling.models;

import dev.kindling.tensor.Tensor;

/**
 * Keys and values of every layer for the positions decoded so far: [B, nHead, capacity, headSize] per
 * layer, filled front to back. Incremental decoding appends the new positions and attends over the prefix.
 */
public final class KVCache {
    private final Tensor[] keys, values;
    private final int capacity;
    private int length;

    public KVCache(GptConfig c, int batch, int capacity) {
        if (capacity > c.blockSize())
            throw new IllegalArgumentException("KVCache: capacity " + capacity + " exceeds the model's block size " + c.blockSize());
        this.capacity = capacity;
        keys = new Tensor[c.nLayer()];
        values = new Tensor[c.nLayer()];
        for (int l = 0; l < c.nLayer(); l++) {
            keys[l] = Tensor.zeros(batch, c.nHead(), capacity, c.headSize());
            values[l] = Tensor.zeros(batch, c.nHead(), capacity, c.headSize());
        }
    }

    /** Positions cached so far. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Sequences held side by side (the B of [B, nHead, capacity, headSize]). */
    public int batch() {
        return keys[0].size(0);
    }

    /** Stores layer {@code layer}'s new k, v [B, nh, T, hs] at the end and returns views of the whole prefix. */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        int t = k.size(2);
        checkRoom(t);
        keys[layer].narrow(2, length, t).copyFrom(k);
        values[layer].narrow(2, length, t).copyFrom(v);
        return new Tensor[] {keys[layer].narrow(2, 0, length + t), values[layer].narrow(2, 0, length + t)};
    }

    /** Throws unless {@code t} more positions fit. */
    void checkRoom(int t) {
        if (length + t > capacity)
            throw new IllegalStateException("KVCache: " + (length + t) + " positions exceed the capacity " + capacity);
    }

    /** Layer {@code layer}'s keys [B, nHead, capacity, headSize] (contiguous), written in place by batch-1 decoding. */
    Tensor keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code layer}'s values, as {@link #keys}. */
    Tensor values(int layer) {
        return values[layer];
    }

    /** Called once per forward after all layers appended {@code t} positions. */
    void advance(int t) {
        length += t;
    }

    /** Forgets everything (the buffers are reused). */
    public void reset() {
        length = 0;
    }
}
