package dev.kindling.tensor;

/**
 * Element types. Kindling computes in {@link #FLOAT32}; {@link #BF16} and {@link #F16} are storage types
 * (weights, mixed precision) converted to FLOAT32 when computed on; {@link #INT64} and {@link #INT32} hold
 * ids and labels; {@link #BOOL} holds masks; {@link #INT8} holds quantized weights.
 * Names follow safetensors' dtype strings ({@link #safetensorsName()}).
 */
public enum DType {
    FLOAT32(4, "F32"),
    BF16(2, "BF16"),
    F16(2, "F16"),
    INT64(8, "I64"),
    INT32(4, "I32"),
    INT8(1, "I8"),
    UINT8(1, "U8"),
    BOOL(1, "BOOL"),
    FLOAT64(8, "F64");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The dtype string used in safetensors headers ("F32", "BF16", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == BF16 || this == F16 || this == FLOAT64;
    }

    /** The dtype whose safetensors name is {@code name}, or an exception that names it. */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) if (t.safetensorsName.equals(name)) return t;
        throw new IllegalArgumentException("unknown dtype '" + name + "'");
    }
}
