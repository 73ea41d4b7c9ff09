package dev.kindling.distributed;

import dev.kindling.tensor.Tensor;
import java.util.Arrays;

/**
 * Where one rank's tensor lies in the full (single-process) tensor of a tensor-parallel model: along
 * {@code dim}, the rank holds the ranges {@code [starts[i], starts[i] + length)} of the full tensor of shape
 * {@code fullShape}, one after another (a packed q/k/v projection gives three ranges). A replicated tensor
 * (every rank holds all of it) has no ranges. Checkpoints use it to gather the full tensors from the ranks
 * and to cut a rank's part back out of them, so they load in one process and in any tensor-parallel split.
 */
public record ShardLayout(int[] fullShape, int dim, int[] starts, int length) {
    public ShardLayout {
        fullShape = fullShape.clone();
        starts = starts.clone();
        if (starts.length > 0) {
            if (dim < 0 || dim >= fullShape.length)
                throw new IllegalArgumentException("ShardLayout: dim " + dim + " is not a dimension of " + Arrays.toString(fullShape));
            for (int s : starts)
                if (s < 0 || length < 0 || s + length > fullShape[dim])
                    throw new IllegalArgumentException("ShardLayout: range [" + s + ", " + (s + length) + ") is outside dimension "
                            + dim + " of " + Arrays.toString(fullShape));
        }
    }

    /** Every rank holds the whole tensor. */
    public static ShardLayout replicated(int... shape) {
        return new ShardLayout(shape, 0, new int[0], 0);
    }

    /** Whether every rank holds the whole tensor. */
    public boolean isReplicated() {
        return starts.length == 0;
    }

    /** The shape of a rank's part. */
    public int[] localShape() {
        int[] s = fullShape.clone();
        if (!isReplicated()) s[dim] = starts.length * length;
        return s;
    }

    /** This rank's part of {@code full}, as a new contiguous tensor. */
    public Tensor slice(Tensor full) {
        if (!Arrays.equals(full.shape(), fullShape))
            throw new IllegalArgumentException("ShardLayout: tensor of shape " + Arrays.toString(full.shape()) + " where "
                    + Arrays.toString(fullShape) + " was expected");
        float[] all = full.toFloatArray();
        if (isReplicated()) return Tensor.fromArray(all, fullShape);
        int[] local = localShape();
        float[] part = new float[numel(local)];
        copy(all, part, false);
        return Tensor.fromArray(part, local);
    }

    /** Writes a rank's part ({@code localValues}, row-major) into its place in the full tensor's values. */
    public void place(float[] localValues, float[] fullValues) {
        if (isReplicated()) System.arraycopy(localValues, 0, fullValues, 0, localValues.length);
        else copy(fullValues, localValues, true);
    }

    /** Copies between the full values and the part: into the full ones when {@code toFull}. */
    private void copy(float[] full, float[] part, boolean toFull) {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= fullShape[i];
        for (int i = dim + 1; i < fullShape.length; i++) inner *= fullShape[i];
        int d = fullShape[dim], k = starts.length, block = length * inner;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < k; i++) {
                int f = (o * d + starts[i]) * inner, p = (o * k + i) * block;
                if (toFull) System.arraycopy(part, p, full, f, block);
                else System.arraycopy(full, f, part, p, block);
            }
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShardLayout l && Arrays.equals(fullShape, l.fullShape) && dim == l.dim
                && Arrays.equals(starts, l.starts) && length == l.length;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(fullShape) * 31 + Arrays.hashCode(starts);
    }

    @Override
    public String toString() {
        return isReplicated() ? "replicated " + Arrays.toString(fullShape)
                : Arrays.toString(fullShape) + " dim " + dim + " starts " + Arrays.toString(starts) + " length " + length;
    }
}
