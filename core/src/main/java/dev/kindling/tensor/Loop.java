package dev.kindling.tensor;

import dev.kindling.kernels.Parallel;

/**
 * A strided loop over k operands that share one logical shape. Dims are coalesced where every operand is
 * contiguous across them, so a contiguous tensor is one row; the last remaining dim is the inner row that
 * a kernel processes with a fixed stride per operand. Rows (or, for a single long row, pieces of it) are
 * spread over the intra-op pool when there is enough work.
 */
final class Loop {
    /** Processes {@code n} inner elements whose first elements are at {@code offs[k]} for each operand. */
    @FunctionalInterface
    interface Body {
        void row(int[] offs, int n);
    }

    final int[] outer;          // coalesced outer dims
    final int[][] outerStrides; // [operand][dim]
    final int inner;
    final int[] innerStrides;   // [operand]
    final int rows;
    private final int k;

    private Loop(int[] outer, int[][] outerStrides, int inner, int[] innerStrides) {
        this.outer = outer;
        this.outerStrides = outerStrides;
        this.inner = inner;
        this.innerStrides = innerStrides;
        this.k = innerStrides.length;
        int r = 1;
        for (int d : outer) r *= d;
        this.rows = inner == 0 ? 0 : r;
    }

    static Loop of(int[] shape, int[]... strides) {
        int k = strides.length;
        // keep only dims of size != 1; a size-0 dim empties the loop
        int[] dims = new int[shape.length];
        int[][] st = new int[k][shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) return new Loop(new int[0], new int[k][0], 0, new int[k]);
            if (shape[d] == 1) continue;
            dims[n] = shape[d];
            for (int j = 0; j < k; j++) st[j][n] = strides[j][d];
            n++;
        }
        // coalesce from the back: dim d merges into d+1 when stride[d] == stride[d+1] * size[d+1] for all operands
        int m = 0;
        int[] cd = new int[n];
        int[][] cs = new int[k][n];
        for (int d = 0; d < n; d++) {
            if (m > 0) {
                boolean merge = true;
                for (int j = 0; j < k && merge; j++) merge = cs[j][m - 1] == st[j][d] * dims[d];
                if (merge) {
                    cd[m - 1] *= dims[d];
                    for (int j = 0; j < k; j++) cs[j][m - 1] = st[j][d];
                    continue;
                }
            }
            cd[m] = dims[d];
            for (int j = 0; j < k; j++) cs[j][m] = st[j][d];
            m++;
        }
        if (m == 0) return new Loop(new int[0], new int[k][0], 1, new int[k]);
        int[] outer = java.util.Arrays.copyOf(cd, m - 1);
        int[][] os = new int[k][];
        int[] is = new int[k];
        for (int j = 0; j < k; j++) {
            os[j] = java.util.Arrays.copyOf(cs[j], m - 1);
            is[j] = cs[j][m - 1];
        }
        return new Loop(outer, os, cd[m - 1], is);
    }

    /** Runs body over every row; {@code cost} is the rough work per element (1 for an add). */
    void run(int[] base, long cost, Body body) {
        if (rows == 0) return;
        long total = (long) rows * inner * Math.max(1, cost);
        int threads = Parallel.threads();
        if (total < Parallel.SERIAL_WORK || threads == 1) {
            runRows(base, 0, rows, body);
        } else if (rows >= threads) {
            Parallel.forRange(rows, (long) inner * cost, (from, to) -> runRows(base, from, to, body));
        } else {
            for (int r = 0; r < rows; r++) {
                int[] start = rowOffsets(base, r);
                Parallel.forRange(inner, cost, (from, to) -> {
                    int[] offs = new int[k];
                    for (int j = 0; j < k; j++) offs[j] = start[j] + from * innerStrides[j];
                    body.row(offs, to - from);
                });
            }
        }
    }

    /** Runs body serially over rows [from, to). */
    void runRows(int[] base, int from, int to, Body body) {
        int[] offs = rowOffsets(base, from);
        int[] idx = new int[outer.length];
        int rem = from;
        for (int d = outer.length - 1; d >= 0; d--) {
            idx[d] = rem % outer[d];
            rem /= outer[d];
        }
        for (int r = from; r < to; r++) {
            body.row(offs, inner);
            for (int d = outer.length - 1; d >= 0; d--) {
                idx[d]++;
                for (int j = 0; j < k; j++) offs[j] += outerStrides[j][d];
                if (idx[d] < outer[d]) break;
                for (int j = 0; j < k; j++) offs[j] -= outerStrides[j][d] * outer[d];
                idx[d] = 0;
            }
        }
    }

    private int[] rowOffsets(int[] base, int row) {
        int[] offs = base.clone();
        int rem = row;
        for (int d = outer.length - 1; d >= 0; d--) {
            int i = rem % outer[d];
            rem /= outer[d];
            for (int j = 0; j < k; j++) offs[j] += i * outerStrides[j][d];
        }
        return offs;
    }
}
