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
 * bytes themselves when the file stores that dtype, otherwise converted once into {@code arena}. Names are looked
 * up under {@code prefix} (e.g. "bert." for checkpoints saved from a task model).
 */
final class WeightSource {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SafetensorsIndex index;
    private final DType dtype;
    private final Arena arena;
    private final String prefix, model;

    WeightSource(SafetensorsIndex index, DType dtype, Arena arena, String prefix, String model) {
        this.index = index;
        this.dtype = dtype;
        this.arena = arena;
        this.prefix = prefix;
        this.model = model;
    }

    DType dtype() {
        return dtype;
    }

    /** A small FLOAT32 tensor (biases, norms), always on the heap. */
    Tensor floats(String name, int... shape) {
        String full = checked(name, shape);
        return Tensor.wrap(index.file(full).readFloats(full), shape);
    }

    /** A [rows, cols] matrix in the requested dtype. */
    WeightMatrix matrix(String name, int rows, int cols) {
        String full = checked(name, rows, cols);
        if (dtype == DType.FLOAT32) return WeightMatrix.ofFloats(Tensor.wrap(index.file(full).readFloats(full), rows, cols));
        TensorInfo info = index.info(full);
        if (info.dtype() == dtype) return WeightMatrix.ofHalf(index.file(full).segment(full), dtype, rows, cols); // in place
        float[] v = index.file(full).readFloats(full);
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
