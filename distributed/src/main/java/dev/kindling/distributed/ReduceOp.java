package dev.kindling.distributed;

/** How {@link ProcessGroup#allReduce} and {@link ProcessGroup#reduceScatter} combine the ranks' values. */
public enum ReduceOp {
    /** Element-wise sum. */
    SUM,
    /** Element-wise sum divided by the world size (gradient averaging). */
    AVG,
    /** Element-wise maximum. */
    MAX
}
