package dev.kindling.models;

import dev.kindling.io.Half;
import dev.kindling.io.SafetensorsIndex;
import dev.kindling.io.TensorInfo;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Reads a model's named weights from its (possibly sharded) safetensors, checking each shape against what the
 * config implies. Matrices come in the requested {@code dtype}: FLOAT32 as heap tensors; BF16/F16 as the mapped
 * bytes themselves when the file stores that dtype, otherwise converted once into {@code arena}. In a quantized
 * folder ({@code quant} not null) the matrices the quantizer converted are read in place as int8/int4 codes
 * (tensor {@code NAME}) with their scales ({@code NAME_scale}), whatever the dtype. Names are looked up under
 * {@code prefix} (e.g. "bert." for checkpoints saved from a task model).
 */
final class WeightSource {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SafetensorsIndex index;
    private final DType dtype;
    private final Arena arena;
    private final String prefix, model;
    private final QuantizationConfig quant;

    WeightSource(SafetensorsIndex index, DType dtype, Arena arena, String prefix, String model, QuantizationConfig quant) {
        this.index = index;
        this.dtype = dtype;
        this.arena = arena;
        this.prefix = prefix;
        this.model = model;
        this.quant = quant;
    }

    DType dtype() {
        return dtype;
    }

    /** True when the matrices are not trainable FLOAT32 tensors (half precision or quantized). */
    boolean frozen() {
        return dtype != DType.FLOAT32 || quant != null;
    }

    /**
     * A linear layer's weight as [out, in] (what {@link WeightMatrix#linear} multiplies by), from a tensor stored
     * [in, out] (GPT-2's Conv1D) when it is a float tensor; quantized tensors are always stored [out, in].
     */
    WeightMatrix transposedMatrix(String name, int in, int out) {
        if (isQuantized(name)) return quantized(name, out, in);
        String full = checked(name, in, out);
        float[] v = index.file(full).readFloats(full), t = new float[v.length];
        for (int i = 0; i < in; i++) for (int o = 0; o < out; o++) t[o * in + i] = v[i * out + o];
        return fromFloats(t, out, in);
    }

    /** A small FLOAT32 tensor (biases, norms), always on the heap. */
    Tensor floats(String name, int... shape) {
        String full = checked(name, shape);
        return Tensor.wrap(index.file(full).readFloats(full), shape);
    }

    /** A [rows, cols] matrix in the requested dtype. */
    WeightMatrix matrix(String name, int rows, int cols) {
        if (isQuantized(name)) return quantized(name, rows, cols);
        String full = checked(name, rows, cols);
        if (dtype == DType.FLOAT32) return WeightMatrix.ofFloats(Tensor.wrap(index.file(full).readFloats(full), rows, cols));
        TensorInfo info = index.info(full);
        if (info.dtype() == dtype) return WeightMatrix.ofHalf(index.file(full).segment(full), dtype, rows, cols); // in place
        return fromFloats(index.file(full).readFloats(full), rows, cols);
    }

    private boolean isQuantized(String name) {
        String full = prefix + name;
        return quant != null && index.contains(full) && index.contains(full + QuantizationConfig.SCALE_SUFFIX)
                && !index.info(full).dtype().isFloatingPoint();
    }

    /** Codes mapped in place (I8 [rows, cols] or U8 [rows, rowBytes]) and scales F32 [rows, groups] on the heap. */
    private WeightMatrix quantized(String name, int rows, int cols) {
        String full = prefix + name, scaleName = full + QuantizationConfig.SCALE_SUFFIX;
        TensorInfo info = index.info(full), scaleInfo = index.info(scaleName);
        // a 4-bit folder may keep sensitive matrices in int8: the codes' dtype says which (I8 codes, U8 nibbles)
        int bits = info.dtype() == DType.INT8 ? 8 : quant.bits(), gs = quant.groupSize(cols);
        DType want = bits == 8 ? DType.INT8 : DType.UINT8;
        long[] shape = {rows, dev.kindling.kernels.Quantization.rowBytes(bits, cols)};
        long[] scaleShape = {rows, dev.kindling.kernels.Quantization.groups(cols, gs)};
        if (info.dtype() != want || !Arrays.equals(info.shape(), shape))
            throw new IllegalArgumentException(model + ": quantized tensor '" + full + "' is " + info.dtype().safetensorsName() + " " + Arrays.toString(info.shape())
                    + " but " + bits + "-bit codes of a [" + rows + ", " + cols + "] matrix are " + want.safetensorsName() + " " + Arrays.toString(shape));
        if (scaleInfo.dtype() != DType.FLOAT32 || !Arrays.equals(scaleInfo.shape(), scaleShape))
            throw new IllegalArgumentException(model + ": scales '" + scaleName + "' are " + scaleInfo.dtype().safetensorsName() + " " + Arrays.toString(scaleInfo.shape())
                    + " but group size " + gs + " needs F32 " + Arrays.toString(scaleShape));
        return WeightMatrix.ofQuantized(bits, gs, index.file(full).segment(full), index.file(scaleName).readFloats(scaleName), rows, cols);
    }

    /** A [rows, cols] matrix from floats, in the requested dtype (half precision converted into the arena). */
    private WeightMatrix fromFloats(float[] v, int rows, int cols) {
        if (dtype == DType.FLOAT32) return WeightMatrix.ofFloats(Tensor.wrap(v, rows, cols));
        MemorySegment bits = arena.allocate(2L * v.length, 2);
        for (int i = 0; i < v.length; i++)
            bits.set(LE_SHORT, 2L * i, dtype == DType.BF16 ? Half.floatToBf16(v[i]) : Half.floatToF16(v[i]));
        return WeightMatrix.ofHalf(bits, dtype, rows, cols);
    }

    private String checked(String name, int... shape) {
        String full = prefix + name;
        if (!index.contains(full))
            throw new IllegalArgumentException(model + ": " + index.source() + " has no tensor '" + full + "'");
        TensorInfo info = index.info(full);
        if (!info.dtype().isFloatingPoint())
            throw new IllegalArgumentException(model + ": tensor '" + full + "' has dtype " + info.dtype() + ", expected a float type");
        long[] want = Arrays.stream(shape).asLongStream().toArray();
        if (!Arrays.equals(info.shape(), want))
            throw new IllegalArgumentException(model + ": tensor '" + full + "' has shape " + Arrays.toString(info.shape())
                    + " but config.json implies " + Arrays.toString(want));
        return full;
    }
}
