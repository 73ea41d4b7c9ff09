package dev.kindling.onnx;

/**
 * ONNX tensor element types (TensorProto.DataType) that the runtime holds. Floating types compute in float
 * (FLOAT16 and BFLOAT16 values are kept rounded to their type) or double; every integer type and BOOL is held in a
 * {@code long[]} and narrowed to its width after each operation, so one integer code path serves them all.
 */
enum DataType {
    FLOAT(1, 4), UINT8(2, 1), INT8(3, 1), UINT16(4, 2), INT16(5, 2), INT32(6, 4), INT64(7, 8), BOOL(9, 1),
    FLOAT16(10, 2), DOUBLE(11, 8), UINT32(12, 4), UINT64(13, 8), BFLOAT16(16, 2);

    final int code, bytes;

    DataType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The type with ONNX code {@code code}; STRING, complex, 4- and 8-bit float types are not supported. */
    static DataType of(int code, String where) {
        for (DataType t : values()) if (t.code == code) return t;
        String name = switch (code) {
            case 8 -> "STRING";
            case 14 -> "COMPLEX64";
            case 15 -> "COMPLEX128";
            case 17, 18, 19, 20 -> "FLOAT8";
            case 21 -> "UINT4";
            case 22 -> "INT4";
            default -> "unknown";
        };
        throw new UnsupportedOperationException(where + ": element type " + code + " (" + name + ") is not supported");
    }

    boolean isFloat() {
        return this == FLOAT || this == FLOAT16 || this == BFLOAT16;
    }

    /** Held in a long[]: the integer types and BOOL. */
    boolean isInteger() {
        return !isFloat() && this != DOUBLE;
    }

    boolean isUnsigned() {
        return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64;
    }

    /** v narrowed to this integer type's width (two's complement wrap, as a C cast does; BOOL becomes 0 or 1). */
    long wrap(long v) {
        return switch (this) {
            case INT8 -> (byte) v;
            case UINT8 -> v & 0xff;
            case INT16 -> (short) v;
            case UINT16 -> v & 0xffff;
            case INT32 -> (int) v;
            case UINT32 -> v & 0xffffffffL;
            case BOOL -> v != 0 ? 1 : 0;
            default -> v;
        };
    }

    /** v rounded to this float type's precision (identity for FLOAT). */
    float round(float v) {
        return switch (this) {
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BFLOAT16 -> bf16(v);
            default -> v;
        };
    }

    /** Round to nearest even bfloat16, NaN kept NaN. */
    static float bf16(float v) {
        if (Float.isNaN(v)) return v;
        int bits = Float.floatToRawIntBits(v);
        bits += 0x7fff + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xffff0000);
    }
}
