package dev.kindling.models;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a quantized model folder's matrices are stored, as config.json's {@code quantization_config} says:
 * {@code {"quant_method": "kindling", "bits": 8|4, "group_size": G}} where G 0 means one scale per row.
 * Quantized matrices are stored [out, in] (also GPT-2's Conv1D weights), groups along "in"; see
 * {@link dev.kindling.kernels.Quantization} for the codes. A 4-bit folder may hold some matrices as 8-bit codes
 * (I8 instead of U8, same group size): their dtype says so.
 */
record QuantizationConfig(int bits, int groupSize) {
    static final String KEY = "quantization_config", METHOD = "kindling", SCALE_SUFFIX = "_scale";

    QuantizationConfig {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException(KEY + ": bits must be 4 or 8, got " + bits);
        if (groupSize < 0 || groupSize % dev.kindling.kernels.Quantization.INT4_BLOCK != 0)
            throw new IllegalArgumentException(KEY + ": group_size must be 0 (per row) or a positive multiple of "
                    + dev.kindling.kernels.Quantization.INT4_BLOCK + ", got " + groupSize);
    }

    /** The group size for rows of {@code cols} elements. */
    int groupSize(int cols) {
        return groupSize == 0 || groupSize >= cols ? cols : groupSize;
    }

    /** The config.json entry. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_method", METHOD);
        m.put("bits", bits);
        m.put("group_size", groupSize);
        return m;
    }

    /** The quantization a parsed config.json declares, or null when it has none. */
    static QuantizationConfig of(Map<String, Object> config) {
        Object q = config.get(KEY);
        if (q == null) return null;
        if (!(q instanceof Map<?, ?> m) || !METHOD.equals(m.get("quant_method")))
            throw new IllegalArgumentException("config.json: " + KEY + " " + q + " is not Kindling's (quant_method \"" + METHOD + "\")");
        if (!(m.get("bits") instanceof Number b) || !(m.get("group_size") instanceof Number g))
            throw new IllegalArgumentException("config.json: " + KEY + " needs integer bits and group_size, got " + q);
        return new QuantizationConfig(b.intValue(), g.intValue());
    }
}
