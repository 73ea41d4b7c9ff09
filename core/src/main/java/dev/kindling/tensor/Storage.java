package dev.kindling.tensor;

/** Storage arrays per dtype: allocation, element reads, and conversion between dtypes. */
final class Storage {
    private Storage() {}

    static Object allocate(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new float[n];
            case INT64 -> new long[n];
            case INT32 -> new int[n];
            case BOOL, INT8, UINT8 -> new byte[n];
            case BF16, F16 -> new short[n];
            case FLOAT64 -> new double[n];
        };
    }

    static double getDouble(DType dtype, Object data, int i) {
        return switch (dtype) {
            case FLOAT32 -> ((float[]) data)[i];
            case INT64 -> ((long[]) data)[i];
            case INT32 -> ((int[]) data)[i];
            case BOOL, INT8 -> ((byte[]) data)[i];
            case UINT8 -> ((byte[]) data)[i] & 0xFF;
            case BF16 -> dev.kindling.io.Half.bf16ToFloat(((short[]) data)[i]);
            case F16 -> Float.float16ToFloat(((short[]) data)[i]);
            case FLOAT64 -> ((double[]) data)[i];
        };
    }

    static long getLong(DType dtype, Object data, int i) {
        return switch (dtype) {
            case INT64 -> ((long[]) data)[i];
            case INT32 -> ((int[]) data)[i];
            case BOOL, INT8 -> ((byte[]) data)[i];
            case UINT8 -> ((byte[]) data)[i] & 0xFF;
            default -> (long) getDouble(dtype, data, i);
        };
    }

    static void set(DType dtype, Object data, int i, double v) {
        switch (dtype) {
            case FLOAT32 -> ((float[]) data)[i] = (float) v;
            case INT64 -> ((long[]) data)[i] = (long) v;
            case INT32 -> ((int[]) data)[i] = (int) v;
            case BOOL -> ((byte[]) data)[i] = (byte) (v != 0 ? 1 : 0);
            case INT8, UINT8 -> ((byte[]) data)[i] = (byte) (long) v;
            case BF16 -> ((short[]) data)[i] = dev.kindling.io.Half.floatToBf16((float) v);
            case F16 -> ((short[]) data)[i] = Float.floatToFloat16((float) v);
            case FLOAT64 -> ((double[]) data)[i] = v;
        }
    }

    /** A contiguous copy of {@code t} in {@code target} dtype. Integer targets truncate toward zero. */
    static Tensor convert(Tensor t, DType target) {
        if (floatOrHalf(t.dtype) && floatOrHalf(target)) return convertFloats(t, target);
        int n = t.numel();
        Object out = allocate(target, n);
        int rank = t.shape.length;
        int[] idx = new int[rank];
        int p = t.offset;
        boolean integral = !t.dtype.isFloatingPoint() && !target.isFloatingPoint();
        for (int i = 0; i < n; i++) {
            if (integral) {
                long v = getLong(t.dtype, t.data, p);
                switch (target) {
                    case INT64 -> ((long[]) out)[i] = v;
                    case INT32 -> ((int[]) out)[i] = (int) v;
                    case BOOL -> ((byte[]) out)[i] = (byte) (v != 0 ? 1 : 0);
                    default -> ((byte[]) out)[i] = (byte) v;
                }
            } else {
                set(target, out, i, getDouble(t.dtype, t.data, p));
            }
            p = Shapes.next(idx, rank - 1, t.shape, t.strides, p);
        }
        return new Tensor(target, out, t.shape.clone(), Shapes.contiguousStrides(t.shape), 0);
    }

    private static boolean floatOrHalf(DType d) {
        return d == DType.FLOAT32 || d == DType.BF16 || d == DType.F16;
    }

    /**
     * {@link #convert} between FLOAT32, BF16 and F16 a row of the last dim at a time, with array loops instead of
     * per-element dispatch: mixed precision converts every matmul's operands and outputs, often strided views.
     */
    private static Tensor convertFloats(Tensor t, DType target) {
        int n = t.numel();
        Object out = allocate(target, n);
        int rank = t.shape.length;
        if (n > 0) {
            boolean whole = rank == 0 || Shapes.isContiguous(t.shape, t.strides);
            int inner = whole ? n : t.shape[rank - 1], stride = whole ? 1 : t.strides[rank - 1];
            int[] idx = new int[Math.max(rank - 1, 0)];
            int p = t.offset;
            for (int q = 0; q < n; q += inner) {
                copyRow(t.dtype, t.data, p, stride, target, out, q, inner);
                p = Shapes.next(idx, rank - 2, t.shape, t.strides, p); // next row: over the outer dims
            }
        }
        return new Tensor(target, out, t.shape.clone(), Shapes.contiguousStrides(t.shape), 0);
    }

    /** dst[q..q+n) = src[p], src[p + stride], ... converted from {@code from} to {@code to}. */
    private static void copyRow(DType from, Object src, int p, int stride, DType to, Object dst, int q, int n) {
        if (stride == 1 && from == to) {
            System.arraycopy(src, p, dst, q, n);
        } else if (stride == 1 && from == DType.FLOAT32) {
            dev.kindling.kernels.HalfArrays.narrow(to == DType.BF16, (float[]) src, p, (short[]) dst, q, n);
        } else if (stride == 1 && to == DType.FLOAT32) {
            dev.kindling.kernels.HalfArrays.widen(from == DType.BF16, (short[]) src, p, (float[]) dst, q, n);
        } else if (from == to && from != DType.FLOAT32) {
            short[] s = (short[]) src, d = (short[]) dst;
            for (int j = 0; j < n; j++) d[q + j] = s[p + j * stride];
        } else if (from == DType.BF16 && to == DType.FLOAT32) {
            short[] s = (short[]) src;
            float[] d = (float[]) dst;
            for (int j = 0; j < n; j++) d[q + j] = Float.intBitsToFloat(s[p + j * stride] << 16);
        } else if (from == DType.F16 && to == DType.FLOAT32) {
            short[] s = (short[]) src;
            float[] d = (float[]) dst;
            for (int j = 0; j < n; j++) d[q + j] = Float.float16ToFloat(s[p + j * stride]);
        } else {
            for (int j = 0; j < n; j++) set(to, dst, q + j, getDouble(from, src, p + j * stride));
        }
    }
}
