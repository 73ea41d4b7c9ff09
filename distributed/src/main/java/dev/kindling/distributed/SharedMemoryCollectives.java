package dev.kindling.distributed;

/**
 * The collectives of a group whose ranks share one host, with the data in {@link SharedSlots} and only a
 * doorbell (a few bytes around the TCP ring) for synchronisation, so that a rank's CPU cost is a few memory
 * copies instead of socket copies through the kernel.
 *
 * <p>A buffer is processed in chunks of at most one slot. For each chunk a rank copies its data into its own
 * slot and rings the doorbell; once the doorbell has gone round, every rank's data is in place. An
 * all-reduce then lets rank r reduce sub-shard r of the chunk (all slots, in rank order), publish it in its
 * slot and ring again, after which every rank copies the reduced sub-shards it does not own: each rank
 * reads and reduces 1/n of the chunk from every slot, the shared-memory form of the ring's reduce-scatter
 * and all-gather (the owner starts from its own values, which are still in its buffer, so it publishes only
 * the other sub-shards before reducing: for 2 ranks a third less copying into shared memory). Chunks of at most {@code smallFloats} floats over all ranks need one doorbell: every rank
 * reduces the whole chunk itself, in rank order, so all get the same bits.
 *
 * <p>Consecutive chunks use alternate slot sets, so a rank may write chunk c + 1 while the others still read
 * chunk c; it writes chunk c + 2 into the first set only after the doorbell of chunk c + 1 has gone round,
 * that is after every rank has finished reading chunk c. Waiting is the doorbell's: a blocking socket wait
 * with the group's timeout and failure reporting, never a spin on shared memory.
 */
final class SharedMemoryCollectives {
    /**
     * Returns once every rank has rung for the same {@code step} with the same {@code signature} (which
     * collective, over how many floats); fails naming the rank that rang for something else.
     */
    @FunctionalInterface
    interface Doorbell {
        void ring(String collective, long step, int signature);
    }

    /** Reduction piece: the slots' copies of one piece stay in the cache while they are combined. */
    private static final int PIECE = 16 << 10;

    private final SharedSlots slots;
    private final Doorbell bell;
    private final int rank, n;
    private final float[] stage = new float[PIECE];
    private long chunks, rings;

    SharedMemoryCollectives(SharedSlots slots, Doorbell bell) {
        this.slots = slots;
        this.bell = bell;
        this.rank = slots.rank;
        this.n = slots.worldSize;
    }

    void allReduce(String name, float[] buf, int off, int len, ReduceOp op, int smallFloats) {
        for (int a = 0; a < len; a += slots.slotFloats) {
            int m = Math.min(slots.slotFloats, len - a), p = nextParity();
            boolean small = (long) m * n <= smallFloats;
            int q = ProcessGroup.shardStart(m, n, rank), ql = ProcessGroup.shardLength(m, n, rank);
            if (small) slots.write(p, 0, buf, off + a, m);
            else { // the others read only the sub-shards they own; this rank's own sub-shard stays in buf until reduced
                slots.write(p, 0, buf, off + a, q);
                slots.write(p, q + ql, buf, off + a + q + ql, m - q - ql);
            }
            ring(name, len);
            if (small) {
                reduce(p, 0, m, buf, off + a, op);
                continue;
            }
            reduceOwned(p, q, ql, buf, off + a + q, op);
            slots.write(p, q, buf, off + a + q, ql);
            ring(name, len);
            for (int k = 0; k < n; k++) {
                if (k == rank) continue;
                int s = ProcessGroup.shardStart(m, n, k);
                slots.read(p, k, s, buf, off + a + s, ProcessGroup.shardLength(m, n, k));
            }
        }
    }

    void reduceScatter(String name, float[] buf, int off, int len, ReduceOp op) {
        int s = ProcessGroup.shardStart(len, n, rank), e = s + ProcessGroup.shardLength(len, n, rank);
        for (int a = 0; a < len; a += slots.slotFloats) {
            int m = Math.min(slots.slotFloats, len - a), p = nextParity();
            slots.write(p, 0, buf, off + a, m);
            ring(name, len);
            int lo = Math.max(s, a), hi = Math.min(e, a + m);
            if (lo < hi) reduce(p, lo - a, hi - lo, buf, off + lo, op);
        }
    }

    void allGather(String name, float[] buf, int off, int len) {
        for (int a = 0; a < len; a += slots.slotFloats) {
            int m = Math.min(slots.slotFloats, len - a), p = nextParity();
            int lo = Math.max(ProcessGroup.shardStart(len, n, rank), a), hi = Math.min(ProcessGroup.shardStart(len, n, rank + 1), a + m);
            if (lo < hi) slots.write(p, lo - a, buf, off + lo, hi - lo);
            ring(name, len);
            for (int k = 0; k < n; k++) {
                if (k == rank) continue;
                int klo = Math.max(ProcessGroup.shardStart(len, n, k), a), khi = Math.min(ProcessGroup.shardStart(len, n, k + 1), a + m);
                if (klo < khi) slots.read(p, k, klo - a, buf, off + klo, khi - klo);
            }
        }
    }

    void broadcast(String name, float[] buf, int off, int len, int root) {
        for (int a = 0; a < len; a += slots.slotFloats) {
            int m = Math.min(slots.slotFloats, len - a), p = nextParity();
            if (rank == root) slots.write(p, 0, buf, off + a, m);
            ring(name, len);
            if (rank != root) slots.read(p, root, 0, buf, off + a, m);
        }
    }

    void barrier(String name) {
        ring(name, 0);
    }

    private int nextParity() {
        return (int) (chunks++ & 1);
    }

    private void ring(String name, int len) {
        bell.ring(name, ++rings, 31 * name.hashCode() + len);
    }

    /**
     * Like {@link #reduce}, for the sub-shard this rank alone reduces (the others copy the result): {@code dst}
     * already holds this rank's values, so they are combined with the other slots' without reading this
     * rank's own slot back: own values first, then the others in rank order, the same order on every run.
     */
    private void reduceOwned(int parity, int at, int len, float[] dst, int dstOff, ReduceOp op) {
        float scale = Reduction.finalScale(op, n);
        for (int i = 0; i < len; i += PIECE) {
            int l = Math.min(PIECE, len - i);
            for (int k = 0; k < n; k++) {
                if (k == rank) continue;
                slots.read(parity, k, at + i, stage, 0, l);
                Reduction.combine(op, dst, dstOff + i, stage, 0, l);
            }
            Reduction.scale(dst, dstOff + i, l, scale);
        }
    }

    /**
     * {@code dst[dstOff, dstOff + len)} = op over the ranks' slots of {@code parity} from float {@code at}, in
     * rank order, then scaled for AVG; piece by piece so that the copies being combined stay in the cache.
     */
    private void reduce(int parity, int at, int len, float[] dst, int dstOff, ReduceOp op) {
        float scale = Reduction.finalScale(op, n);
        for (int i = 0; i < len; i += PIECE) {
            int l = Math.min(PIECE, len - i);
            slots.read(parity, 0, at + i, dst, dstOff + i, l);
            for (int k = 1; k < n; k++) {
                slots.read(parity, k, at + i, stage, 0, l);
                Reduction.combine(op, dst, dstOff + i, stage, 0, l);
            }
            Reduction.scale(dst, dstOff + i, l, scale);
        }
    }
}
