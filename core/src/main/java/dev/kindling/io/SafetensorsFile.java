package dev.kindling.io;

import dev.kindling.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A memory-mapped <a href="https://github.com/huggingface/safetensors">safetensors</a> file.
 *
 * <p>Format: 8 bytes little-endian unsigned header length N, N bytes of UTF-8 JSON
 * {@code {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}},
 * then the data section; offsets are relative to the data section and data is little-endian, row-major.
 *
 * <p>{@link #open} maps the whole file (no copy) and validates the header the way the reference Rust crate does,
 * and a bit more: the header is at most 100 MB and fits in the file; every tensor has a known dtype, a shape of
 * non-negative integers and {@code data_offsets} whose length equals elements × dtype size; and, sorted by offset,
 * the tensors cover the data section exactly — no overlap, no hole, no trailing bytes (the Rust crate rejects
 * those as {@code InvalidOffset} and {@code MetadataIncompleteBuffer}). Duplicate names are rejected. Unknown
 * keys inside a tensor entry are ignored, as in the reference. Every error is a {@link FileFormatException} that
 * names the file, the tensor and the numbers.
 *
 * <p>The file is thread-safe: segments may be read from any thread until {@link #close()}, which unmaps the file;
 * segments handed out before are invalid afterwards.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted, the reference implementation's limit. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Largest Java array length that every JVM accepts. */
    static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
    static final String METADATA_KEY = "__metadata__";

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble LE_DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataOffset;
    private final Map<String, String> metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private volatile boolean closed;

    private SafetensorsFile(Path path, Arena arena, MemorySegment file, Header header) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.dataOffset = header.dataOffset;
        this.metadata = Collections.unmodifiableMap(header.metadata);
        this.tensors = List.copyOf(header.tensors);
        Map<String, TensorInfo> map = new LinkedHashMap<>();
        for (TensorInfo t : tensors) map.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(map);
    }

    /**
     * Maps {@code path} read-only and validates its header.
     *
     * @throws FileFormatException if the file is not valid safetensors (the message says what is wrong)
     * @throws IOException if the file cannot be opened or mapped
     */
    public static SafetensorsFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) throw new IOException("safetensors: " + path + " is a folder, not a file");
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw fail(path, "file has " + size + " bytes, too short for the 8-byte header length");
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafetensorsFile(path, arena, file, parseHeader(path, file));
            } catch (Throwable t) {
                arena.close();
                throw t;
            }
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The header's {@code __metadata__} string map, in file order; empty if absent. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Every tensor, in the order the header lists them. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    /** Whether the file holds a tensor called {@code name}. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /**
     * The header entry of tensor {@code name}.
     *
     * @throws IllegalArgumentException naming the tensor and the file if there is no such tensor
     */
    public TensorInfo info(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) {
            String some = byName.keySet().stream().limit(8).map(n -> "'" + n + "'").collect(Collectors.joining(", "));
            throw new IllegalArgumentException("safetensors: " + path + " has no tensor '" + name + "' (it has "
                    + byName.size() + " tensors" + (byName.isEmpty() ? "" : ": " + some
                    + (byName.size() > 8 ? ", ..." : "")) + ")");
        }
        return t;
    }

    /** Absolute file offset of the data section: 8 + header length. Tensor offsets are relative to it. */
    public long dataOffset() {
        return dataOffset;
    }

    /**
     * The tensor's bytes as a read-only slice of the mapping: no copy, little-endian, row-major, possibly
     * unaligned (read it with unaligned layouts). Valid until {@link #close()}.
     */
    public MemorySegment segment(String name) {
        TensorInfo t = info(name);
        checkOpen();
        return file.asSlice(dataOffset + t.begin(), t.byteSize());
    }

    /**
     * The tensor's elements as floats: F32 as is, BF16 and F16 exactly, F64 rounded to nearest float.
     *
     * @throws IllegalArgumentException if the dtype is not a floating-point one or the tensor is too large for an
     *     array
     */
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        int n = arrayLength(t, "readFloats");
        float[] out = new float[n];
        switch (t.dtype()) {
            case FLOAT32 -> MemorySegment.copy(s, LE_FLOAT, 0, out, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Half.bf16ToFloat(s.getAtIndex(LE_SHORT, i));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Half.f16ToFloat(s.getAtIndex(LE_SHORT, i));
            }
            case FLOAT64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(LE_DOUBLE, i);
            }
            default -> throw wrongDtype(t, "readFloats", "F32, BF16, F16 or F64", "readLongs or readInts");
        }
        return out;
    }

    /**
     * The tensor's elements as longs: I64, I32 and I8 sign-extended, U8 as 0..255, BOOL as 0 or 1.
     *
     * @throws IllegalArgumentException if the dtype is a floating-point one or the tensor is too large for an array
     */
    public long[] readLongs(String name) {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        int n = arrayLength(t, "readLongs");
        long[] out = new long[n];
        switch (t.dtype()) {
            case INT64 -> MemorySegment.copy(s, LE_LONG, 0, out, 0, n);
            case INT32 -> {
                for (int i = 0; i < n; i++) out[i] = s.getAtIndex(LE_INT, i);
            }
            case INT8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i);
            }
            case UINT8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            }
            case BOOL -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            }
            default -> throw wrongDtype(t, "readLongs", "I64, I32, I8, U8 or BOOL", "readFloats");
        }
        return out;
    }

    /**
     * The tensor's elements as ints: I32 as is, I8 sign-extended, U8 as 0..255, BOOL as 0 or 1, I64 if every value
     * fits in an int.
     *
     * @throws IllegalArgumentException if the dtype is a floating-point one, an I64 value does not fit, or the
     *     tensor is too large for an array
     */
    public int[] readInts(String name) {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        int n = arrayLength(t, "readInts");
        int[] out = new int[n];
        switch (t.dtype()) {
            case INT32 -> MemorySegment.copy(s, LE_INT, 0, out, 0, n);
            case INT64 -> {
                for (int i = 0; i < n; i++) {
                    long v = s.getAtIndex(LE_LONG, i);
                    if (v != (int) v) {
                        throw new IllegalArgumentException("safetensors: " + path + ": readInts: tensor '"
                                + t.name() + "' (I64) has " + v + " at element " + i
                                + ", outside the int range; use readLongs");
                    }
                    out[i] = (int) v;
                }
            }
            case INT8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i);
            }
            case UINT8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            }
            case BOOL -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            }
            default -> throw wrongDtype(t, "readInts", "I32, I64, I8, U8 or BOOL", "readFloats");
        }
        return out;
    }

    /**
     * A copy of the tensor's raw bytes, whatever its dtype (little-endian, row-major). For I8, U8 and BOOL these
     * are the elements.
     *
     * @throws IllegalArgumentException if the data is too large for a Java array
     */
    public byte[] readBytes(String name) {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        if (t.byteSize() > MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException("safetensors: " + path + ": readBytes: tensor '" + t.name()
                    + "' has " + t.byteSize() + " bytes, more than a Java array holds (" + MAX_ARRAY_LENGTH
                    + "); use segment()");
        }
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Unmaps the file. Idempotent; segments obtained before are invalid afterwards. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("safetensors: " + path + " is closed");
    }

    private int arrayLength(TensorInfo t, String op) {
        long n = t.numel();
        if (n > MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException("safetensors: " + path + ": " + op + ": tensor '" + t.name()
                    + "' has " + n + " elements, more than a Java array holds (" + MAX_ARRAY_LENGTH
                    + "); use segment()");
        }
        return (int) n;
    }

    private IllegalArgumentException wrongDtype(TensorInfo t, String op, String accepted, String instead) {
        return new IllegalArgumentException("safetensors: " + path + ": " + op + ": tensor '" + t.name() + "' is "
                + t.dtype().safetensorsName() + ", " + op + " reads " + accepted + "; use " + instead
                + " or readBytes");
    }

    static FileFormatException fail(Path path, String message) {
        return new FileFormatException("safetensors: " + path + ": " + message);
    }

    // ---------------------------------------------------------------- header parsing and validation

    /** The parsed and validated header. */
    record Header(long dataOffset, Map<String, String> metadata, List<TensorInfo> tensors) {}

    /** Parses and validates the header of a whole safetensors file held in {@code file}. */
    static Header parseHeader(Path path, MemorySegment file) throws FileFormatException {
        long size = file.byteSize();
        if (size < 8) throw fail(path, "file has " + size + " bytes, too short for the 8-byte header length");
        long n = file.get(LE_LONG, 0);
        // n is unsigned in the format: a negative long is a length above 2^63.
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw fail(path, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes (file has " + size + " bytes); not a safetensors file?");
        }
        if (n > size - 8) {
            throw fail(path, "header length " + n + " runs past the end of the file (" + size
                    + " bytes, so at most " + (size - 8) + " header bytes); the file is truncated or not safetensors");
        }
        byte[] headerBytes = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        Object root;
        try {
            root = Json.parse(headerBytes);
        } catch (Json.JsonException e) {
            throw fail(path, "header is not valid JSON: " + e.getMessage() + " of the header (file byte "
                    + (8 + e.position()) + ")");
        }
        if (!(root instanceof Map<?, ?> entries)) {
            throw fail(path, "header is JSON " + kind(root) + ", not an object");
        }
        long dataOffset = 8 + n;
        long dataSize = size - dataOffset;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA_KEY)) {
                parseMetadata(path, e.getValue(), metadata);
            } else {
                tensors.add(parseTensor(path, name, e.getValue()));
            }
        }
        for (TensorInfo t : tensors) {
            if (t.end() > dataSize) {
                throw fail(path, "tensor '" + t.name() + "' ends at byte " + (dataOffset + t.end())
                        + " of the file (data_offsets [" + t.begin() + ", " + t.end() + "]) but the file has "
                        + size + " bytes; the file is truncated or its header is wrong");
            }
        }
        checkCoverage(path, tensors, dataSize);
        return new Header(dataOffset, metadata, tensors);
    }

    private static void parseMetadata(Path path, Object value, Map<String, String> out) throws FileFormatException {
        if (value == null) return; // serde reads null as "no metadata"
        if (!(value instanceof Map<?, ?> map)) {
            throw fail(path, METADATA_KEY + " is " + kind(value) + ", expected an object of strings");
        }
        for (Map.Entry<?, ?> m : map.entrySet()) {
            if (!(m.getValue() instanceof String s)) {
                throw fail(path, METADATA_KEY + " value for key '" + m.getKey() + "' is " + kind(m.getValue())
                        + ", expected a string");
            }
            out.put((String) m.getKey(), s);
        }
    }

    private static TensorInfo parseTensor(Path path, String name, Object value) throws FileFormatException {
        if (!(value instanceof Map<?, ?> map)) {
            throw fail(path, "tensor '" + name + "' is " + kind(value)
                    + ", expected an object with dtype, shape and data_offsets");
        }
        for (String key : List.of("dtype", "shape", "data_offsets")) {
            if (!map.containsKey(key)) throw fail(path, "tensor '" + name + "' has no \"" + key + "\"");
        }
        if (!(map.get("dtype") instanceof String dtypeName)) {
            throw fail(path, "tensor '" + name + "' has dtype " + kind(map.get("dtype")) + ", expected a string");
        }
        DType dtype = dtypeOf(dtypeName);
        if (dtype == null) {
            throw fail(path, "tensor '" + name + "' has dtype '" + dtypeName + "', which Kindling does not support ("
                    + Arrays.stream(DType.values()).map(DType::safetensorsName).collect(Collectors.joining(", "))
                    + ")");
        }
        long[] shape = nonNegativeLongs(path, name, "shape", map.get("shape"));
        long[] offsets = nonNegativeLongs(path, name, "data_offsets", map.get("data_offsets"));
        if (offsets.length != 2) {
            throw fail(path, "tensor '" + name + "' has data_offsets " + Arrays.toString(offsets)
                    + ", expected [begin, end]");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw fail(path, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "]: begin is after end");
        }
        long bytes;
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            bytes = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw fail(path, "tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + " whose byte size overflows 64 bits");
        }
        if (end - begin != bytes) {
            throw fail(path, "tensor '" + name + "' has shape " + Arrays.toString(shape) + " of " + dtypeName
                    + ", which needs " + bytes + " bytes, but data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static DType dtypeOf(String name) {
        for (DType t : DType.values()) if (t.safetensorsName().equals(name)) return t;
        return null;
    }

    private static long[] nonNegativeLongs(Path path, String name, String field, Object value)
            throws FileFormatException {
        if (!(value instanceof List<?> list)) {
            throw fail(path, "tensor '" + name + "' has " + field + " " + kind(value) + ", expected an array");
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (!(v instanceof Long l) || l < 0) {
                String shown = v instanceof Number || v instanceof Boolean ? String.valueOf(v)
                        : v instanceof String str ? '"' + str + '"' : kind(v);
                throw fail(path, "tensor '" + name + "' has " + field + " element " + i + " = " + shown
                        + ", expected a non-negative integer");
            }
            out[i] = l;
        }
        return out;
    }

    /**
     * Sorted by offset, the tensors must tile the data section: each starts where the previous ended, and the last
     * ends at the end of the file (the Rust crate's {@code Metadata::validate} plus its buffer-length check).
     */
    private static void checkCoverage(Path path, List<TensorInfo> tensors, long dataSize) throws FileFormatException {
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < covered) {
                throw fail(path, "tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end()
                        + "] and '" + t.name() + "' [" + t.begin() + ", " + t.end() + "] overlap");
            }
            if (t.begin() > covered) {
                throw fail(path, "data bytes [" + covered + ", " + t.begin() + ") belong to no tensor ("
                        + (previous == null ? "before '" + t.name() + "'"
                                : "between '" + previous.name() + "' and '" + t.name() + "'")
                        + "); safetensors requires the tensors to cover the data section without holes");
            }
            covered = t.end();
            previous = t;
        }
        if (covered != dataSize) {
            throw fail(path, "the data section has " + dataSize + " bytes but the tensors cover only " + covered
                    + "; " + (dataSize - covered) + " trailing bytes belong to no tensor");
        }
    }

    private static String kind(Object v) {
        return switch (v) {
            case null -> "null";
            case Map<?, ?> m -> "an object";
            case List<?> l -> "an array";
            case String s -> "a string";
            case Boolean b -> "a boolean";
            default -> "a number";
        };
    }
}
