package dev.kindling.io;

import java.util.Arrays;

/**
 * The content of an IDX file of unsigned bytes (type 0x08), as MNIST and Fashion-MNIST ship: images as
 * {@code [count, rows, cols]}, labels as {@code [count]}.
 *
 * @param dims the dimensions, each positive, outermost first
 * @param data the elements, row-major, {@code product(dims)} bytes; read them unsigned ({@link #unsigned(int)}).
 *     The array is not copied (the Fashion-MNIST training images are 47 MB)
 */
public record IdxArray(int[] dims, byte[] data) {
    /** @throws IllegalArgumentException if a dimension is not positive or data has not product(dims) bytes */
    public IdxArray {
        if (dims.length == 0 || dims.length > 255) {
            throw new IllegalArgumentException("idx: " + dims.length + " dimensions; IDX holds 1 to 255");
        }
        dims = dims.clone();
        long n = 1;
        boolean huge = false;
        for (int d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("idx: dimensions " + Arrays.toString(dims) + " must be positive");
            }
            if (n > Long.MAX_VALUE / d) huge = true;
            else n *= d;
        }
        if (huge || n != data.length) {
            throw new IllegalArgumentException("idx: dimensions " + Arrays.toString(dims) + " need "
                    + (huge ? "more than 2^63" : n) + " bytes but data has " + data.length);
        }
    }

    /** A copy of the dimensions. */
    @Override
    public int[] dims() {
        return dims.clone();
    }

    /** Element {@code i} (row-major flat index) as 0..255. */
    public int unsigned(int i) {
        return data[i] & 0xFF;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdxArray a && Arrays.equals(dims, a.dims) && Arrays.equals(data, a.data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "IdxArray" + Arrays.toString(dims);
    }
}
