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
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                p += t.strides[d];
                if (idx[d] < t.shape[d]) break;
                p -= t.strides[d] * t.shape[d];
                idx[d] = 0;
            }
        }
        return new Tensor(target, out, t.shape.clone(), Shapes.contiguousStrides(t.shape), 0);
    }
}
