package dev.kindling.kernels;

/**
 * GPTQ rounding (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
 * Transformers", 2022) into the {@link Quantization} format: the codes and scales are laid out as
 * {@link Quantization#quantize} lays them out, so every kernel that reads those reads these.
 *
 * <p>Round-to-nearest minimises the error of each weight alone. What matters is the error of the layer's output
 * X W^T over the inputs X it sees; a few input features with large activations (common after LayerNorm) make the
 * rounding of their columns count far more than the rest. GPTQ quantizes one column (input feature) at a time and
 * moves each column's rounding error onto the columns not yet quantized, in the proportions that minimise
 * ||X W^T - X Q^T||^2 given H = X^T X: with H^-1 = U^T U (U upper triangular), column i's error e is taken off the
 * later columns j as e U[i, j] / U[i, i]. Columns go in decreasing order of H[i, i] ("act order": the inputs with
 * the largest activations first, while many columns remain to take up their error), so the scales are fixed up
 * front from the original weights by the rule of {@link Quantization} (a group's columns come at any time); an
 * updated weight beyond its group's range is clamped.
 */
public final class Gptq {
    /** Added to H's diagonal, as a fraction of its mean: keeps H invertible when calibration data is scarce. */
    public static final double DEFAULT_DAMPING = 0.01;

    private Gptq() {}

    /**
     * Quantizes w [rows, cols] (row-major, not modified) into {@code codes} and {@code scales} as
     * {@link Quantization#quantize} does, with GPTQ's error-compensating rounding.
     *
     * @param hessian H [cols, cols] row-major, the sum (or mean) of x^T x over the layer's calibration inputs x
     *     [1, cols]; a feature that was always 0 (H[i, i] = 0) gets weight 0, as it never reaches the output
     * @param damping added to H's diagonal as a fraction of the diagonal's mean, in (0, 1]
     * @throws IllegalArgumentException if the format is invalid, an array has the wrong size, a weight or an entry of
     *     H is not finite, the damping is out of range, or H is not positive semi-definite (each named)
     */
    public static void quantize(int bits, int groupSize, float[] w, int rows, int cols, double[] hessian, double damping,
                                byte[] codes, float[] scales) {
        Quantization.check(bits, groupSize, cols);
        long rb = Quantization.rowBytes(bits, cols);
        int groups = Quantization.groups(cols, groupSize);
        if (rows < 0 || (long) rows * cols != w.length)
            throw new IllegalArgumentException("gptq: " + w.length + " weights are not " + rows + " x " + cols);
        if (hessian.length != (long) cols * cols)
            throw new IllegalArgumentException("gptq: the Hessian has " + hessian.length + " entries, expected " + cols + " x " + cols);
        if (!(damping > 0 && damping <= 1))
            throw new IllegalArgumentException("gptq: damping must be in (0, 1], got " + damping);
        if (codes.length < rows * rb)
            throw new IllegalArgumentException("gptq: codes hold " + codes.length + " bytes, need " + rows * rb);
        if (scales.length < (long) rows * groups)
            throw new IllegalArgumentException("gptq: scales hold " + scales.length + " floats, need " + (long) rows * groups);
        for (int i = 0; i < w.length; i++)
            if (!Float.isFinite(w[i])) throw new IllegalArgumentException("gptq: weight [" + i / cols + ", " + i % cols + "] is " + w[i]);
        for (int i = 0; i < hessian.length; i++)
            if (!Double.isFinite(hessian[i])) throw new IllegalArgumentException("gptq: Hessian [" + i / cols + ", " + i % cols + "] is " + hessian[i]);

        // act order: the columns of the largest activations first, while most columns can still take up their error;
        // the group scales are then fixed up front from the original weights (a group's columns come at any time)
        Integer[] order = new Integer[cols];
        for (int i = 0; i < cols; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(hessian[b * cols + b], hessian[a * cols + a]));
        int[] perm = new int[cols];
        for (int i = 0; i < cols; i++) perm[i] = order[i];
        float[] work = new float[w.length]; // columns in processing order
        double[] h = new double[hessian.length];
        for (int i = 0; i < cols; i++) {
            for (int r = 0; r < rows; r++) work[r * cols + i] = w[r * cols + perm[i]];
            for (int j = 0; j < cols; j++) h[i * cols + j] = hessian[perm[i] * cols + perm[j]];
        }
        double mean = 0;
        for (int i = 0; i < cols; i++) {
            if (h[i * cols + i] < 0)
                throw new IllegalArgumentException("gptq: Hessian [" + perm[i] + ", " + perm[i] + "] is " + h[i * cols + i] + " < 0: not a sum of x^T x");
            if (h[i * cols + i] == 0) { // a dead input: its weights never matter; 1 keeps H invertible
                h[i * cols + i] = 1;
                for (int r = 0; r < rows; r++) work[r * cols + i] = 0f;
            }
            mean += h[i * cols + i];
        }
        mean /= Math.max(1, cols);
        for (int i = 0; i < cols; i++) h[i * cols + i] += damping * mean;
        float[] u = inverseUpperFactor(h, cols);
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < groups; g++) {
                int from = g * groupSize, to = Math.min(cols, from + groupSize);
                scales[r * groups + g] = scale(bits, w, r * cols + from, r * cols + to);
            }

        for (int i = 0; i < cols; i++) {
            int col = perm[i], g = col / groupSize;
            float uii = u[i * cols + i];
            for (int r = 0; r < rows; r++) {
                int at = r * cols + i;
                float d = scales[r * groups + g], v = work[at];
                int q = d == 0f ? 0 : Math.round(v / d);
                if (bits == 8) {
                    q = Math.max(-127, Math.min(127, q));
                    codes[(int) (r * rb) + col] = (byte) q;
                } else {
                    q = Math.max(-8, Math.min(7, q));
                    Quantization.setNibble(codes, (int) (r * rb), col, q);
                }
                float e = (v - d * q) / uii;
                if (e != 0f) for (int j = i + 1, ui = i * cols; j < cols; j++) work[r * cols + j] -= e * u[ui + j];
            }
        }
        if (bits == 4) // padding past cols decodes to 0
            for (int r = 0; r < rows; r++) for (int j = cols; j < rb * 2; j++) Quantization.setNibble(codes, (int) (r * rb), j, 0);
    }

    /** The scale {@link Quantization#quantize} would pick for elements [from, to) of w. */
    private static float scale(int bits, float[] w, int from, int to) {
        float extreme = 0f;
        for (int j = from; j < to; j++) if (Math.abs(w[j]) > Math.abs(extreme)) extreme = w[j];
        return bits == 8 ? Math.abs(extreme) / 127f : Quantization.int4Scale(w, from, to, extreme);
    }

    /**
     * U upper triangular with H^-1 = U^T U, for H [n, n] symmetric positive definite (overwritten). First H = R R^T
     * with R upper triangular (Cholesky from the last column back), then U = R^-1: no inverse of H is formed.
     */
    static float[] inverseUpperFactor(double[] h, int n) {
        double[] r = h; // R overwrites H's upper triangle; row i of R is read contiguously from its column i on
        for (int j = n - 1; j >= 0; j--) {
            double pivot = h[j * n + j];
            for (int k = j + 1; k < n; k++) pivot -= r[j * n + k] * r[j * n + k];
            if (!(pivot > 0))
                throw new IllegalArgumentException("gptq: the Hessian is not positive definite (pivot " + pivot + " at column " + j
                        + "); it must be a sum of x^T x over the layer's inputs");
            double rjj = Math.sqrt(pivot);
            r[j * n + j] = rjj;
            for (int i = 0; i < j; i++) {
                double s = h[i * n + j];
                for (int k = j + 1; k < n; k++) s -= r[i * n + k] * r[j * n + k];
                r[i * n + j] = s / rjj;
            }
        }
        // R U = I, row by row from the last: U[i, i..] = (e_i - sum_{k > i} R[i, k] U[k, i..]) / R[i, i]
        double[] ud = new double[n * n];
        for (int i = n - 1; i >= 0; i--) {
            int ui = i * n;
            ud[ui + i] = 1;
            for (int k = i + 1; k < n; k++) {
                double c = r[ui + k];
                if (c != 0) for (int j = k, uk = k * n; j < n; j++) ud[ui + j] -= c * ud[uk + j];
            }
            double inv = 1 / r[ui + i];
            for (int j = i; j < n; j++) ud[ui + j] *= inv;
        }
        float[] u = new float[n * n];
        for (int i = 0; i < u.length; i++) u[i] = (float) ud[i];
        return u;
    }
}
