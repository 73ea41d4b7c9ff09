package dev.kindling.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by all ops: element counts, strides, broadcasting, dim normalisation. */
final class Shapes {
    private Shapes() {}

    static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + str(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    static int[] contiguousStrides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape[i], 1);
        }
        return s;
    }

    static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    /** Normalises a possibly negative dim against rank {@code rank}; names the op on error. */
    static int dim(String op, int dim, int rank) {
        int r = Math.max(rank, 1);
        if (dim < -r || dim >= r)
            throw new IllegalArgumentException(op + ": dim " + dim + " is out of range for a tensor of rank " + rank);
        return dim < 0 ? dim + r : dim;
    }

    /** NumPy broadcasting of two shapes; the error names the op and both shapes. */
    static int[] broadcast(String op, int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i < n - a.length ? 1 : a[i - (n - a.length)];
            int db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b)
                        + " cannot be broadcast (dim " + i + ": " + da + " vs " + db + ")");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides that view a tensor of {@code shape}/{@code strides} as {@code target} (broadcast dims get stride 0). */
    static int[] broadcastStrides(int[] shape, int[] strides, int[] target) {
        int[] out = new int[target.length];
        int off = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            if (i < off) out[i] = 0;
            else out[i] = shape[i - off] == 1 && target[i] != 1 ? 0 : strides[i - off];
        }
        return out;
    }

    /**
     * Steps the multi-index {@code idx} over dims [0, last] of {@code shape} like an odometer (dim {@code last}
     * fastest) and returns storage offset {@code p} moved to match.
     */
    static int next(int[] idx, int last, int[] shape, int[] strides, int p) {
        for (int d = last; d >= 0; d--) {
            idx[d]++;
            p += strides[d];
            if (idx[d] < shape[d]) break;
            p -= strides[d] * shape[d];
            idx[d] = 0;
        }
        return p;
    }

    static boolean isContiguous(int[] shape, int[] strides) {
        for (int d : shape) if (d == 0) return true; // no element to misplace, as in PyTorch
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (strides[i] != acc) return false;
            acc *= shape[i];
        }
        return true;
    }

    /** Normalises a list of dims (deduplicated, sorted); empty means all dims. */
    static boolean[] reduceMask(String op, int[] dims, int rank) {
        boolean[] mask = new boolean[rank];
        if (dims == null || dims.length == 0) {
            Arrays.fill(mask, true);
            return mask;
        }
        for (int d : dims) {
            int n = dim(op, d, rank);
            if (rank == 0) continue;
            if (mask[n]) throw new IllegalArgumentException(op + ": dim " + d + " appears twice in " + Arrays.toString(dims));
            mask[n] = true;
        }
        return mask;
    }
}
