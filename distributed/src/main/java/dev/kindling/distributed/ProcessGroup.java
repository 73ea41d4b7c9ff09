package dev.kindling.distributed;

import java.time.Duration;

/**
 * A fixed set of {@link #worldSize()} processes ("ranks") that run collectives together, like PyTorch's
 * {@code torch.distributed} process group. Every rank must call the same collectives in the same order with
 * the same lengths. Buffers are {@code float[]} regions, reduced in place; any length works, including
 * lengths not divisible by the world size and zero.
 *
 * <p>Sharded collectives split a region of {@code len} floats into one contiguous shard per rank, rank
 * {@code r} owning {@code [shardStart(len, n, r), shardStart(len, n, r + 1))}; the first {@code len % n}
 * shards are one float longer.
 *
 * <p>Every collective gives up when no data has moved for {@link #timeout()} (a large buffer may take
 * longer as long as it keeps flowing): if a peer dies or stalls, each live rank throws a
 * {@link DistributedException} naming the collective and the rank(s) that did not take part, instead of
 * hanging. A group is used by one thread at a time.
 */
public interface ProcessGroup extends AutoCloseable {
    /** This process's rank, in {@code [0, worldSize)}. */
    int rank();

    /** Number of ranks. */
    int worldSize();

    /** How long a collective may wait without progress before failing. */
    Duration timeout();

    /** Replaces {@code buf[off, off + len)} on every rank by the reduction of all ranks' regions. */
    void allReduce(float[] buf, int off, int len, ReduceOp op);

    /** {@link #allReduce(float[], int, int, ReduceOp)} over the whole array. */
    default void allReduce(float[] buf, ReduceOp op) {
        allReduce(buf, 0, buf.length, op);
    }

    /**
     * Reduces {@code buf[off, off + len)} across ranks, leaving this rank's shard of the region holding the
     * reduction; the rest of the region is scratch afterwards (its values are unspecified).
     */
    void reduceScatter(float[] buf, int off, int len, ReduceOp op);

    /**
     * Each rank contributes its own shard of {@code buf[off, off + len)}; afterwards every rank's whole region
     * holds all shards.
     */
    void allGather(float[] buf, int off, int len);

    /** Copies {@code buf[off, off + len)} of rank {@code root} to every other rank. */
    void broadcast(float[] buf, int off, int len, int root);

    /**
     * Whether the collectives move data through memory shared by all ranks (every rank on this host), so
     * that their copying and reducing runs on the cores the ranks compute on; false for a network transport.
     * Callers use it to decide whether overlapping communication with computation can gain anything.
     */
    default boolean sharedMemory() {
        return false;
    }

    /** Returns once every rank has called barrier. */
    void barrier();

    /** Releases the connections; collectives fail afterwards. */
    @Override
    void close();

    /** First index (relative to the region) of rank {@code rank}'s shard of a region of {@code len} floats. */
    static int shardStart(int len, int worldSize, int rank) {
        if (worldSize < 1 || rank < 0 || rank > worldSize || len < 0)
            throw new IllegalArgumentException("shardStart: need len >= 0 and 0 <= rank <= worldSize, got len " + len
                    + ", worldSize " + worldSize + ", rank " + rank);
        int base = len / worldSize, extra = len % worldSize;
        return rank * base + Math.min(rank, extra);
    }

    /** Number of floats in rank {@code rank}'s shard of a region of {@code len} floats. */
    static int shardLength(int len, int worldSize, int rank) {
        return shardStart(len, worldSize, rank + 1) - shardStart(len, worldSize, rank);
    }
}
