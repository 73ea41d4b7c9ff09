package dev.kindling.io;

import dev.kindling.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files that PyTorch, the Python {@code safetensors} package and {@link SafetensorsFile} read.
 *
 * <p>Layout, as the reference implementation writes it: the header is compact JSON with {@code __metadata__} first
 * (when given) and then the tensors in the map's iteration order; it is padded with spaces to a multiple of 8 bytes
 * so the data section starts 8-byte aligned. In the data section tensors are laid out by element size, largest
 * first (stable, so equal sizes keep map order): every tensor then starts at a multiple of its element size and
 * can be read by aligned loads after memory mapping, and the tensors cover the section without holes, as the
 * format requires. Writing is atomic ({@link AtomicFiles}).
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /**
     * One tensor to write: little-endian row-major bytes of {@code shape} elements of {@code dtype}.
     * The data array is not copied.
     *
     * @param dtype element type
     * @param shape dimensions, each {@code >= 0}; {@code []} is a scalar (one element)
     * @param data exactly {@code product(shape) * dtype.byteSize()} bytes
     */
    public record Entry(DType dtype, long[] shape, byte[] data) {
        /** @throws IllegalArgumentException if a dimension is negative or data has the wrong length */
        public Entry {
            if (dtype == null || shape == null || data == null) {
                throw new NullPointerException("safetensors entry: dtype, shape and data must not be null");
            }
            shape = shape.clone();
            long bytes = checkedNumel(shape);
            try {
                bytes = Math.multiplyExact(bytes, dtype.byteSize());
            } catch (ArithmeticException e) {
                bytes = -1;
            }
            if (bytes != data.length) {
                throw new IllegalArgumentException("safetensors entry: shape " + Arrays.toString(shape) + " of "
                        + dtype.safetensorsName() + " needs " + (bytes < 0 ? "more than 2^63" : bytes)
                        + " bytes but data has " + data.length);
            }
        }

        /** A copy of the shape. */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** F32 tensor. */
        public static Entry ofFloats(long[] shape, float[] values) {
            checkCount(shape, values.length, "floats");
            return new Entry(DType.FLOAT32, shape, bytes(values, values.length, 4));
        }

        /** F64 tensor. */
        public static Entry ofDoubles(long[] shape, double[] values) {
            checkCount(shape, values.length, "doubles");
            return new Entry(DType.FLOAT64, shape, bytes(values, values.length, 8));
        }

        /** BF16 tensor from floats, each rounded to nearest even ({@link Half#floatToBf16}). */
        public static Entry ofBf16(long[] shape, float[] values) {
            checkCount(shape, values.length, "floats");
            short[] bits = new short[values.length];
            for (int i = 0; i < bits.length; i++) bits[i] = Half.floatToBf16(values[i]);
            return new Entry(DType.BF16, shape, bytes(bits, bits.length, 2));
        }

        /** F16 tensor from floats, each rounded to nearest even ({@link Half#floatToF16}). */
        public static Entry ofF16(long[] shape, float[] values) {
            checkCount(shape, values.length, "floats");
            short[] bits = new short[values.length];
            for (int i = 0; i < bits.length; i++) bits[i] = Half.floatToF16(values[i]);
            return new Entry(DType.F16, shape, bytes(bits, bits.length, 2));
        }

        /** I64 tensor. */
        public static Entry ofLongs(long[] shape, long[] values) {
            checkCount(shape, values.length, "longs");
            return new Entry(DType.INT64, shape, bytes(values, values.length, 8));
        }

        /** I32 tensor. */
        public static Entry ofInts(long[] shape, int[] values) {
            checkCount(shape, values.length, "ints");
            return new Entry(DType.INT32, shape, bytes(values, values.length, 4));
        }

        /** BOOL tensor (one byte per element, 0 or 1). */
        public static Entry ofBools(long[] shape, boolean[] values) {
            checkCount(shape, values.length, "booleans");
            byte[] data = new byte[values.length];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (values[i] ? 1 : 0);
            return new Entry(DType.BOOL, shape, data);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry e && dtype == e.dtype && Arrays.equals(shape, e.shape)
                    && Arrays.equals(data, e.data);
        }

        @Override
        public int hashCode() {
            return (dtype.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Entry[" + dtype.safetensorsName() + " " + Arrays.toString(shape) + ", " + data.length + " bytes]";
        }

        private static long checkedNumel(long[] shape) {
            long n = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("safetensors entry: shape " + Arrays.toString(shape)
                            + " has a negative dimension");
                }
                try {
                    n = Math.multiplyExact(n, d);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("safetensors entry: shape " + Arrays.toString(shape)
                            + " has more than 2^63 elements");
                }
            }
            return n;
        }

        private static void checkCount(long[] shape, int count, String what) {
            long n = checkedNumel(shape);
            if (n != count) {
                throw new IllegalArgumentException("safetensors entry: shape " + Arrays.toString(shape) + " has "
                        + n + " elements but " + count + " " + what + " were given");
            }
        }

        /** Little-endian bytes of a primitive array, whatever the platform's byte order. */
        private static byte[] bytes(Object array, int count, int size) {
            byte[] out = new byte[Math.multiplyExact(count, size)];
            MemorySegment dst = MemorySegment.ofArray(out);
            switch (array) {
                case float[] a -> MemorySegment.copy(a, 0, dst, SafetensorsFile.LE_FLOAT, 0, count);
                case double[] a -> MemorySegment.copy(a, 0, dst, SafetensorsFile.LE_DOUBLE, 0, count);
                case long[] a -> MemorySegment.copy(a, 0, dst, SafetensorsFile.LE_LONG, 0, count);
                case int[] a -> MemorySegment.copy(a, 0, dst, SafetensorsFile.LE_INT, 0, count);
                case short[] a -> MemorySegment.copy(a, 0, dst, SafetensorsFile.LE_SHORT, 0, count);
                default -> throw new AssertionError(array.getClass());
            }
            return out;
        }
    }

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} to {@code path}, atomically.
     *
     * @param metadata the {@code __metadata__} strings, or {@code null} to write none
     * @throws IllegalArgumentException if a name is {@code __metadata__} or the header would exceed 100 MB
     */
    public static void write(Path path, Map<String, Entry> tensors, Map<String, String> metadata)
            throws IOException {
        byte[] header = header(tensors, metadata);
        List<Map.Entry<String, Entry>> layout = layout(tensors);
        AtomicFiles.write(path, out -> writeTo(out, header, layout));
    }

    /** The same bytes {@link #write} puts in a file, to a stream (which is not closed). */
    static void writeTo(OutputStream out, Map<String, Entry> tensors, Map<String, String> metadata)
            throws IOException {
        writeTo(out, header(tensors, metadata), layout(tensors));
    }

    private static void writeTo(OutputStream out, byte[] header, List<Map.Entry<String, Entry>> layout)
            throws IOException {
        byte[] length = new byte[8];
        MemorySegment.ofArray(length).set(SafetensorsFile.LE_LONG, 0, header.length);
        out.write(length);
        out.write(header);
        for (Map.Entry<String, Entry> e : layout) out.write(e.getValue().data());
    }

    /** Data-section order: element size descending, stable. */
    private static List<Map.Entry<String, Entry>> layout(Map<String, Entry> tensors) {
        List<Map.Entry<String, Entry>> order = new ArrayList<>(tensors.entrySet());
        order.sort(Comparator.comparingInt(e -> -e.getValue().dtype().byteSize()));
        return order;
    }

    /** UTF-8 header JSON padded with spaces to a multiple of 8 bytes. */
    static byte[] header(Map<String, Entry> tensors, Map<String, String> metadata) {
        Map<String, long[]> offsets = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, Entry> e : layout(tensors)) {
            if (e.getKey() == null) throw new IllegalArgumentException("safetensors: a tensor name is null");
            if (e.getValue() == null) {
                throw new IllegalArgumentException("safetensors: tensor '" + e.getKey() + "' is null");
            }
            if (e.getKey().equals(SafetensorsFile.METADATA_KEY)) {
                throw new IllegalArgumentException("safetensors: '" + SafetensorsFile.METADATA_KEY
                        + "' is reserved and cannot name a tensor");
            }
            long end = offset + e.getValue().data().length;
            offsets.put(e.getKey(), new long[] {offset, end});
            offset = end;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        if (metadata != null) {
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (m.getKey() == null || m.getValue() == null) {
                    throw new IllegalArgumentException("safetensors: metadata " + m.getKey() + " = " + m.getValue()
                            + " has a null key or value");
                }
            }
            json.put(SafetensorsFile.METADATA_KEY, metadata);
        }
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", e.getValue().dtype().safetensorsName());
            info.put("shape", e.getValue().shape);
            info.put("data_offsets", offsets.get(e.getKey()));
            json.put(e.getKey(), info);
        }
        byte[] text = Json.write(json).getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        if (padded > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("safetensors: header of " + padded + " bytes exceeds the limit of "
                    + SafetensorsFile.MAX_HEADER_BYTES + " that readers accept (" + tensors.size() + " tensors)");
        }
        byte[] header = Arrays.copyOf(text, padded);
        Arrays.fill(header, text.length, padded, (byte) ' ');
        return header;
    }
}
