package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.SafetensorsWriter.Entry;
import dev.kindling.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A safetensors file by hand: 8-byte little-endian length, the header text as given, then the data bytes. */
    static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(h.length).put(h).put(data).array();
    }

    static byte[] raw(String header, int dataBytes) {
        return raw(header, new byte[dataBytes]);
    }

    private Path put(byte[] bytes) throws IOException {
        return Files.write(dir.resolve("t.safetensors"), bytes);
    }

    /** Opens a bad file and returns the message, checking that it names the file. */
    private String openError(byte[] bytes) throws IOException {
        Path p = put(bytes);
        var e = assertThrows(FileFormatException.class, () -> SafetensorsFile.open(p).close());
        String prefix = "safetensors: " + p + ": ";
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    private static String tensor(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin
                + "," + end + "]}";
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void roundTripsEveryDtypeAndTheMetadata() throws IOException {
        Map<String, Entry> in = new LinkedHashMap<>();
        in.put("u8", new Entry(DType.UINT8, new long[] {3}, new byte[] {0, (byte) 255, (byte) 128}));
        in.put("f32", Entry.ofFloats(new long[] {2, 2}, new float[] {1.5f, -0f, Float.MIN_VALUE, Float.NaN}));
        in.put("bf16", Entry.ofBf16(new long[] {3}, new float[] {1f, -2.5f, 0.1f}));
        in.put("f16", Entry.ofF16(new long[] {3}, new float[] {65504f, -0.5f, 0.001f}));
        in.put("f64", Entry.ofDoubles(new long[] {2}, new double[] {Math.PI, -1e300}));
        in.put("i64", Entry.ofLongs(new long[] {3}, new long[] {Long.MIN_VALUE, -1, Long.MAX_VALUE}));
        in.put("i32", Entry.ofInts(new long[] {1, 3}, new int[] {Integer.MIN_VALUE, 7, Integer.MAX_VALUE}));
        in.put("i8", new Entry(DType.INT8, new long[] {2}, new byte[] {-128, 127}));
        in.put("bool", Entry.ofBools(new long[] {2}, new boolean[] {true, false}));
        in.put("scalar", Entry.ofFloats(new long[] {}, new float[] {42f}));
        in.put("empty", Entry.ofInts(new long[] {0, 5}, new int[0]));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("unicode", "café ✓ \"q\" \\ \n");
        Path p = dir.resolve("all.safetensors");
        SafetensorsWriter.write(p, in, meta);

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(meta, f.metadata());
            assertEquals(List.copyOf(in.keySet()), f.tensors().stream().map(TensorInfo::name).toList());
            for (var e : in.entrySet()) {
                TensorInfo t = f.info(e.getKey());
                assertEquals(e.getValue().dtype(), t.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
                assertArrayEquals(e.getValue().data(), f.readBytes(e.getKey()), e.getKey());
                // Every tensor starts at a multiple of its element size, from an 8-byte aligned data section.
                assertEquals(0, t.begin() % t.dtype().byteSize(), e.getKey());
            }
            assertEquals(0, f.dataOffset() % 8);
            assertArrayEquals(new int[] {0, 255, 128}, f.readInts("u8"));
            assertArrayEquals(new float[] {1.5f, -0f, Float.MIN_VALUE, Float.NaN}, f.readFloats("f32"));
            assertArrayEquals(new float[] {1f, -2.5f, 0.10009765625f}, f.readFloats("bf16"));
            assertArrayEquals(new float[] {65504f, -0.5f, 0.0010004043579101562f}, f.readFloats("f16"));
            assertArrayEquals(new float[] {(float) Math.PI, Float.NEGATIVE_INFINITY}, f.readFloats("f64"));
            assertArrayEquals(new long[] {Long.MIN_VALUE, -1, Long.MAX_VALUE}, f.readLongs("i64"));
            assertArrayEquals(new int[] {Integer.MIN_VALUE, 7, Integer.MAX_VALUE}, f.readInts("i32"));
            assertArrayEquals(new long[] {Integer.MIN_VALUE, 7, Integer.MAX_VALUE}, f.readLongs("i32"));
            assertArrayEquals(new long[] {-128, 127}, f.readLongs("i8"));
            assertArrayEquals(new int[] {1, 0}, f.readInts("bool"));
            assertArrayEquals(new long[] {1, 0}, f.readLongs("bool"));
            assertArrayEquals(new float[] {42f}, f.readFloats("scalar"));
            assertEquals(1, f.info("scalar").numel());
            assertArrayEquals(new int[0], f.readInts("empty"));
            assertEquals(0, f.info("empty").byteSize());
        }
    }

    @Test
    void noMetadataMeansNoMetadataKeyAndEmptyFileIsValid() throws IOException {
        Path p = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(p, Map.of(), null);
        // The reference writes "{}" padded to 8 bytes.
        assertArrayEquals(raw("{}      ", 0), Files.readAllBytes(p));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of(), f.tensors());
            assertEquals(Map.of(), f.metadata());
        }
        SafetensorsWriter.write(p, Map.of(), Map.of("framework", "pt"));
        assertArrayEquals(raw("{\"__metadata__\":{\"framework\":\"pt\"}}     ", 0), Files.readAllBytes(p));
    }

    /** The byte layouts the reference implementation's own tests pin down, built by hand. */
    @Test
    void writesTheReferenceLayoutByteForByte() throws IOException {
        byte[] values = new byte[24];
        ByteBuffer.wrap(values).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(new float[] {0, 1, 2, 3, 4, 5});
        float[] floats = {0, 1, 2, 3, 4, 5};

        Path p = dir.resolve("a.safetensors");
        SafetensorsWriter.write(p, Map.of("attn.0", Entry.ofFloats(new long[] {1, 2, 3}, floats)), null);
        // 64 header bytes: already a multiple of 8, no padding.
        byte[] expected = raw("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", values);
        assertArrayEquals(expected, Files.readAllBytes(p));
        assertEquals(64, expected[0]);

        SafetensorsWriter.write(p, Map.of("attn0", Entry.ofFloats(new long[] {1, 1, 2, 3}, floats)), null);
        // 65 header bytes: padded with 7 spaces to 72 so that the floats start 8-byte aligned.
        expected = raw("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", values);
        assertArrayEquals(expected, Files.readAllBytes(p));
        assertEquals(72, expected[0]);
    }

    @Test
    void writeToStreamMatchesWriteToFile() throws IOException {
        Map<String, Entry> in = Map.of("x", Entry.ofLongs(new long[] {2}, new long[] {1, 2}));
        Path p = dir.resolve("s.safetensors");
        SafetensorsWriter.write(p, in, Map.of("k", "v"));
        var out = new ByteArrayOutputStream();
        SafetensorsWriter.writeTo(out, in, Map.of("k", "v"));
        assertArrayEquals(Files.readAllBytes(p), out.toByteArray());
    }

    @Test
    void headerKeepsInsertionOrderWhileDataIsAligned() throws IOException {
        Map<String, Entry> in = new LinkedHashMap<>();
        in.put("b", new Entry(DType.BOOL, new long[] {3}, new byte[] {1, 0, 1}));
        in.put("h", Entry.ofF16(new long[] {1}, new float[] {2f}));
        in.put("w", Entry.ofFloats(new long[] {1}, new float[] {3f}));
        in.put("l", Entry.ofLongs(new long[] {1}, new long[] {4}));
        Path p = dir.resolve("order.safetensors");
        SafetensorsWriter.write(p, in, null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("b", "h", "w", "l"), f.tensors().stream().map(TensorInfo::name).toList());
            assertEquals(new TensorInfo("l", DType.INT64, new long[] {1}, 0, 8), f.info("l"));
            assertEquals(new TensorInfo("w", DType.FLOAT32, new long[] {1}, 8, 12), f.info("w"));
            assertEquals(new TensorInfo("h", DType.F16, new long[] {1}, 12, 14), f.info("h"));
            assertEquals(new TensorInfo("b", DType.BOOL, new long[] {3}, 14, 17), f.info("b"));
            assertArrayEquals(new float[] {2f}, f.readFloats("h"));
            assertArrayEquals(new long[] {4}, f.readLongs("l"));
        }
    }

    // ---------------------------------------------------------------- PyTorch golden file

    private static byte[] golden() throws IOException {
        try (InputStream in = SafetensorsTest.class.getResourceAsStream("golden.safetensors")) {
            if (in == null) throw new IOException("test resource golden.safetensors is missing");
            return in.readAllBytes();
        }
    }

    /** Written by tools/golden/safetensors_fixture.py with PyTorch's own tensor bytes and the reference layout. */
    @Test
    void readsTheFileWrittenWithPyTorch() throws IOException {
        Path p = put(golden());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt", "note", "café ✓ \"quoted\" back\\slash"), f.metadata());
            assertEquals(List.of("i64", "f64", "empty", "f32", "scalar", "i32", "bf16", "f16", "i8", "u8", "bool"),
                    f.tensors().stream().map(TensorInfo::name).toList());
            assertArrayEquals(new long[] {0, -1, 1L << 40, Long.MIN_VALUE, Long.MAX_VALUE}, f.readLongs("i64"));
            assertEquals(1.0 / 3.0, f.segment("f64").getAtIndex(SafetensorsFile.LE_DOUBLE, 0));
            assertArrayEquals(new float[] {1f / 3f, -2f, Float.POSITIVE_INFINITY}, f.readFloats("f64"));
            assertArrayEquals(new long[] {0, 3}, f.info("empty").shape());
            assertArrayEquals(new float[0], f.readFloats("empty"));
            assertArrayEquals(new long[] {2, 3}, f.info("f32").shape());
            assertArrayEquals(new float[] {0.5f, -1.25f, 3f, 0.1f, 1e-8f, -0f}, f.readFloats("f32"));
            assertArrayEquals(new long[0], f.info("scalar").shape());
            assertArrayEquals(new float[] {2.5f}, f.readFloats("scalar"));
            assertArrayEquals(new int[] {1, -2, 3, Integer.MAX_VALUE}, f.readInts("i32"));
            float inf = Float.POSITIVE_INFINITY;
            assertArrayEquals(new float[] {1f, -2.5f, 3.140625f, 0.10009765625f, 65536f, 1f, 1.015625f, inf, -inf,
                Float.NaN}, f.readFloats("bf16"));
            float tiny = (float) Math.scalb(1.0, -24);
            assertArrayEquals(new float[] {1f, -2.5f, 65504f, 65504f, inf, tiny, 0f, tiny, 0.0010004043579101562f,
                Float.NaN}, f.readFloats("f16"));
            assertArrayEquals(new long[] {-128, 127, 0, -1}, f.readLongs("i8"));
            assertArrayEquals(new int[] {0, 255, 128}, f.readInts("u8"));
            assertArrayEquals(new int[] {1, 0, 1}, f.readInts("bool"));
        }
    }

    /** Same tensors, same order, through Kindling's writer and our own rounding: the very same bytes. */
    @Test
    void writerReproducesThePyTorchFileExactly() throws IOException {
        float inf = Float.POSITIVE_INFINITY;
        float nan = Float.NaN;
        Map<String, Entry> in = new LinkedHashMap<>();
        in.put("i64", Entry.ofLongs(new long[] {5}, new long[] {0, -1, 1L << 40, Long.MIN_VALUE, Long.MAX_VALUE}));
        in.put("f64", Entry.ofDoubles(new long[] {3}, new double[] {1.0 / 3.0, -2.0, 1e300}));
        in.put("empty", Entry.ofFloats(new long[] {0, 3}, new float[0]));
        in.put("f32", Entry.ofFloats(new long[] {2, 3}, new float[] {0.5f, -1.25f, 3f, 0.1f, 1e-8f, -0f}));
        in.put("scalar", Entry.ofFloats(new long[] {}, new float[] {2.5f}));
        in.put("i32", Entry.ofInts(new long[] {2, 2}, new int[] {1, -2, 3, Integer.MAX_VALUE}));
        Entry bf16 = Entry.ofBf16(new long[] {10},
                new float[] {1f, -2.5f, 3.140625f, 0.1f, 65504f, 1.00390625f, 1.01171875f, inf, -inf, nan});
        // PyTorch's vectorised CPU cast encodes NaN as 0xFFFF where Half gives the canonical 0x7FC0: both are NaN.
        assertEquals((short) 0x7FC0, Half.floatToBf16(nan));
        bf16.data()[18] = (byte) 0xFF;
        bf16.data()[19] = (byte) 0xFF;
        in.put("bf16", bf16);
        in.put("f16", Entry.ofF16(new long[] {10}, new float[] {1f, -2.5f, 65504f, 65519f, 65520f,
            (float) Math.scalb(1.0, -24), (float) Math.scalb(1.0, -25), (float) Math.scalb(3.0, -26), 0.001f, nan}));
        in.put("i8", new Entry(DType.INT8, new long[] {4}, new byte[] {-128, 127, 0, -1}));
        in.put("u8", new Entry(DType.UINT8, new long[] {3}, new byte[] {0, (byte) 255, (byte) 128}));
        in.put("bool", Entry.ofBools(new long[] {3}, new boolean[] {true, false, true}));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "café ✓ \"quoted\" back\\slash");
        Path p = dir.resolve("mine.safetensors");
        SafetensorsWriter.write(p, in, meta);
        assertArrayEquals(golden(), Files.readAllBytes(p));
    }

    // ---------------------------------------------------------------- access

    @Test
    void segmentsAreZeroCopyReadOnlySlicesUntilClose() throws IOException {
        Path p = dir.resolve("seg.safetensors");
        SafetensorsWriter.write(p, Map.of("w", Entry.ofFloats(new long[] {3}, new float[] {1, 2, 3})), null);
        SafetensorsFile f = SafetensorsFile.open(p);
        MemorySegment s = f.segment("w");
        assertEquals(12, s.byteSize());
        assertTrue(s.isReadOnly());
        assertTrue(s.isMapped());
        assertEquals(3f, s.getAtIndex(SafetensorsFile.LE_FLOAT, 2));
        assertThrows(IllegalArgumentException.class, () -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
        f.close();
        f.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0));
        var e = assertThrows(IllegalStateException.class, () -> f.readFloats("w"));
        assertEquals("safetensors: " + p + " is closed", e.getMessage());
    }

    @Test
    void missingNameIsNamed() throws IOException {
        Path p = dir.resolve("n.safetensors");
        SafetensorsWriter.write(p, Map.of("a", Entry.ofInts(new long[] {1}, new int[] {1})), null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertFalse(f.contains("b"));
            var e = assertThrows(IllegalArgumentException.class, () -> f.info("b"));
            assertEquals("safetensors: " + p + " has no tensor 'b' (it has 1 tensors: 'a')", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.segment("b"));
        }
    }

    @Test
    void readersRefuseTheWrongDtype() throws IOException {
        Path p = dir.resolve("d.safetensors");
        Map<String, Entry> in = new LinkedHashMap<>();
        in.put("f", Entry.ofFloats(new long[] {1}, new float[] {1}));
        in.put("ids", Entry.ofLongs(new long[] {3}, new long[] {1, 1L << 31, 2}));
        SafetensorsWriter.write(p, in, null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            var e = assertThrows(IllegalArgumentException.class, () -> f.readFloats("ids"));
            assertEquals("safetensors: " + p + ": readFloats: tensor 'ids' is I64, readFloats reads F32, BF16, "
                    + "F16 or F64; use readLongs or readInts or readBytes", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.readLongs("f"));
            assertTrue(e.getMessage().contains("tensor 'f' is F32"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.readInts("f"));
            e = assertThrows(IllegalArgumentException.class, () -> f.readInts("ids"));
            assertEquals("safetensors: " + p + ": readInts: tensor 'ids' (I64) has 2147483648 at element 1, "
                    + "outside the int range; use readLongs", e.getMessage());
            assertArrayEquals(new long[] {1, 1L << 31, 2}, f.readLongs("ids"));
        }
    }

    /** A 2 GiB tensor (a sparse file, so no disk is used) maps fine but cannot become one Java array. */
    @Test
    void tensorsBeyondJavaArraysStayInSegments() throws IOException {
        long n = 1L << 31;
        byte[] header = ("{" + tensor("big", "U8", "[" + n + "]", 0, n) + "}").getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("big.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(raw(new String(header, StandardCharsets.UTF_8), 0));
            f.setLength(8 + header.length + n);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(n, f.segment("big").byteSize());
            var e = assertThrows(IllegalArgumentException.class, () -> f.readBytes("big"));
            assertEquals("safetensors: " + p + ": readBytes: tensor 'big' has 2147483648 bytes, more than a Java "
                    + "array holds (2147483639); use segment()", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.readInts("big"));
            assertTrue(e.getMessage().contains("has 2147483648 elements, more than a Java array holds"));
        }
    }

    // ---------------------------------------------------------------- bad files

    @Test
    void rejectsFoldersAndMissingFiles() {
        var e = assertThrows(IOException.class, () -> SafetensorsFile.open(dir));
        assertEquals("safetensors: " + dir + " is a folder, not a file", e.getMessage());
        assertThrows(java.nio.file.NoSuchFileException.class, () -> SafetensorsFile.open(dir.resolve("none")));
    }

    @Test
    void rejectsFilesTooShortForTheLength() throws IOException {
        assertEquals("file has 0 bytes, too short for the 8-byte header length", openError(new byte[0]));
        assertEquals("file has 5 bytes, too short for the 8-byte header length", openError(new byte[5]));
    }

    @Test
    void rejectsAbsurdHeaderLengths() throws IOException {
        byte[] b = raw("{}      ", 0);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 200_000_000L);
        assertEquals("header length 200000000 exceeds the limit of 100000000 bytes (file has 16 bytes); not a "
                + "safetensors file?", openError(b));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        assertEquals("header length 18446744073709551615 exceeds the limit of 100000000 bytes (file has 16 bytes); "
                + "not a safetensors file?", openError(b));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 9);
        assertEquals("header length 9 runs past the end of the file (16 bytes, so at most 8 header bytes); the file "
                + "is truncated or not safetensors", openError(b));
    }

    @Test
    void rejectsMalformedJson() throws IOException {
        assertEquals("header is not valid JSON: expected ',' or '}' in object, found end of input at byte 10 of the "
                + "header (file byte 18)", openError(raw("{\"a\":{}   ", 0)));
        assertEquals("header is not valid JSON: unexpected end of input, expected a value at byte 5 of the header "
                + "(file byte 13)", openError(raw("{\"a\":", 0)));
        assertEquals("header is JSON an array, not an object", openError(raw("[]", 0)));
        byte[] badUtf8 = raw("{\"\u00e9\":1}", 0);
        badUtf8[11] = (byte) 0xFF; // second byte of the é
        assertTrue(openError(badUtf8).startsWith("header is not valid JSON: truncated or invalid UTF-8 sequence"));
    }

    @Test
    void rejectsMissingOrMistypedFields() throws IOException {
        assertEquals("tensor 'w' has no \"dtype\"",
                openError(raw("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)));
        assertEquals("tensor 'w' has no \"shape\"",
                openError(raw("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)));
        assertEquals("tensor 'w' has no \"data_offsets\"",
                openError(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)));
        assertEquals("tensor 'w' is a number, expected an object with dtype, shape and data_offsets",
                openError(raw("{\"w\":3}", 0)));
        assertEquals("tensor 'w' has dtype a number, expected a string",
                openError(raw("{\"w\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4)));
        assertEquals("tensor 'w' has shape a string, expected an array",
                openError(raw("{" + tensor("w", "F32", "\"2\"", 0, 8) + "}", 8)));
    }

    @Test
    void rejectsUnknownDtypes() throws IOException {
        assertEquals("tensor 'w' has dtype 'I16', which Kindling does not support (F32, BF16, F16, I64, I32, I8, "
                + "U8, BOOL, F64)", openError(raw("{" + tensor("w", "I16", "[2]", 0, 4) + "}", 4)));
    }

    @Test
    void rejectsNegativeOrNonIntegerShapes() throws IOException {
        assertEquals("tensor 'w' has shape element 0 = -1, expected a non-negative integer",
                openError(raw("{" + tensor("w", "F32", "[-1,2]", 0, 8) + "}", 8)));
        assertEquals("tensor 'w' has shape element 1 = 2.5, expected a non-negative integer",
                openError(raw("{" + tensor("w", "F32", "[1,2.5]", 0, 8) + "}", 8)));
        assertEquals("tensor 'w' has shape element 0 = 2.0, expected a non-negative integer",
                openError(raw("{" + tensor("w", "F32", "[2.0]", 0, 8) + "}", 8)));
        assertEquals("tensor 'w' has shape element 0 = null, expected a non-negative integer",
                openError(raw("{" + tensor("w", "F32", "[null]", 0, 8) + "}", 8)));
        assertEquals("tensor 'w' has shape [4611686018427387904, 4] whose byte size overflows 64 bits",
                openError(raw("{" + tensor("w", "F32", "[4611686018427387904,4]", 0, 8) + "}", 8)));
        assertEquals("tensor 'w' has shape element 0 = 1.8446744073709552E19, expected a non-negative integer",
                openError(raw("{" + tensor("w", "U8", "[18446744073709551616]", 0, 8) + "}", 8)));
    }

    @Test
    void rejectsBadOffsets() throws IOException {
        assertEquals("tensor 'w' has data_offsets element 0 = -4, expected a non-negative integer",
                openError(raw("{" + tensor("w", "F32", "[1]", -4, 0) + "}", 4)));
        assertEquals("tensor 'w' has data_offsets [0, 4, 8], expected [begin, end]",
                openError(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4)));
        assertEquals("tensor 'w' has data_offsets [8, 4]: begin is after end",
                openError(raw("{" + tensor("w", "F32", "[1]", 8, 4) + "}", 8)));
    }

    @Test
    void rejectsSizeMismatch() throws IOException {
        assertEquals("tensor 'w' has shape [2, 3] of F32, which needs 24 bytes, but data_offsets [0, 20] hold 20",
                openError(raw("{" + tensor("w", "F32", "[2,3]", 0, 20) + "}", 20)));
    }

    @Test
    void rejectsTensorsPastTheEndWithoutAllocating() throws IOException {
        String h = "{" + tensor("w", "F32", "[2,3]", 0, 24) + "}";
        int n = h.length();
        assertEquals("tensor 'w' ends at byte " + (8 + n + 24) + " of the file (data_offsets [0, 24]) but the file has "
                + (8 + n + 20) + " bytes; the file is truncated or its header is wrong", openError(raw(h, 20)));
        // A header claiming a terabyte from a small file is rejected before anything is allocated.
        String huge = "{" + tensor("w", "U8", "[1000000000000]", 0, 1_000_000_000_000L) + "}";
        assertTrue(openError(raw(huge, 16)).startsWith("tensor 'w' ends at byte 1000000000"));
    }

    @Test
    void rejectsATruncatedRealFile() throws IOException {
        Path p = dir.resolve("good.safetensors");
        SafetensorsWriter.write(p, Map.of("w", Entry.ofFloats(new long[] {4}, new float[] {1, 2, 3, 4})), null);
        byte[] full = Files.readAllBytes(p);
        byte[] cut = java.util.Arrays.copyOf(full, full.length - 3);
        assertEquals("tensor 'w' ends at byte " + full.length + " of the file (data_offsets [0, 16]) but the file "
                + "has " + cut.length + " bytes; the file is truncated or its header is wrong", openError(cut));
        byte[] headerOnly = java.util.Arrays.copyOf(full, 20);
        assertTrue(openError(headerOnly).startsWith("header length "));
    }

    @Test
    void rejectsOverlapsHolesAndTrailingBytes() throws IOException {
        assertEquals("tensors 'a' [0, 16] and 'b' [8, 24] overlap", openError(raw("{"
                + tensor("a", "F32", "[4]", 0, 16) + "," + tensor("b", "F32", "[4]", 8, 24) + "}", 24)));
        assertEquals("data bytes [8, 16) belong to no tensor (between 'a' and 'b'); safetensors requires the "
                + "tensors to cover the data section without holes", openError(raw("{"
                + tensor("b", "F32", "[2]", 16, 24) + "," + tensor("a", "F32", "[2]", 0, 8) + "}", 24)));
        assertEquals("data bytes [0, 8) belong to no tensor (before 'a'); safetensors requires the tensors to cover "
                + "the data section without holes", openError(raw("{" + tensor("a", "F32", "[2]", 8, 16) + "}", 16)));
        assertEquals("the data section has 16 bytes but the tensors cover only 8; 8 trailing bytes belong to no "
                + "tensor", openError(raw("{" + tensor("a", "F32", "[2]", 0, 8) + "}", 16)));
        assertEquals("the data section has 3 bytes but the tensors cover only 0; 3 trailing bytes belong to no "
                + "tensor", openError(raw("{}", 3)));
        // Zero-size tensors may share an offset, as in the reference implementation.
        Path ok = put(raw("{" + tensor("e1", "F32", "[0]", 4, 4) + "," + tensor("a", "F32", "[1]", 0, 4) + ","
                + tensor("e2", "I64", "[0,2]", 4, 4) + "}", 4));
        SafetensorsFile.open(ok).close();
    }

    @Test
    void rejectsDuplicateNames() throws IOException {
        String h = "{" + tensor("w", "F32", "[1]", 0, 4) + "," + tensor("w", "F32", "[1]", 4, 8) + "}";
        assertEquals("header is not valid JSON: duplicate key 'w' at byte 54 of the header (file byte 62)",
                openError(raw(h, 8)));
    }

    @Test
    void rejectsBadMetadata() throws IOException {
        assertEquals("__metadata__ value for key 'n' is a number, expected a string",
                openError(raw("{\"__metadata__\":{\"n\":1}}", 0)));
        assertEquals("__metadata__ is an array, expected an object of strings",
                openError(raw("{\"__metadata__\":[]}", 0)));
        try (SafetensorsFile f = SafetensorsFile.open(put(raw("{\"__metadata__\":null}", 0)))) {
            assertEquals(Map.of(), f.metadata());
        }
    }

    @Test
    void acceptsPaddingAndUnknownTensorFields() throws IOException {
        String h = "{\"w\":{\"dtype\":\"I32\",\"extra\":[1,{}],\"shape\":[1],\"data_offsets\":[0,4]}}\n\t    ";
        try (SafetensorsFile f = SafetensorsFile.open(put(raw(h, new byte[] {7, 0, 0, 0})))) {
            assertArrayEquals(new int[] {7}, f.readInts("w"));
        }
    }

    // ---------------------------------------------------------------- writer input checks

    @Test
    void entriesCheckTheirSizes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Entry(DType.FLOAT32, new long[] {2, 3}, new byte[20]));
        assertEquals("safetensors entry: shape [2, 3] of F32 needs 24 bytes but data has 20", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Entry.ofFloats(new long[] {2, 3}, new float[5]));
        assertEquals("safetensors entry: shape [2, 3] has 6 elements but 5 floats were given", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Entry.ofInts(new long[] {-1}, new int[0]));
        assertEquals("safetensors entry: shape [-1] has a negative dimension", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Entry(DType.INT64, new long[] {1L << 61, 2}, new byte[0]));
        assertEquals("safetensors entry: shape [2305843009213693952, 2] of I64 needs more than 2^63 bytes but data "
                + "has 0", e.getMessage());
        long[] shape = {2};
        Entry entry = Entry.ofInts(shape, new int[] {1, 2});
        shape[0] = 5; // the entry keeps its own copy
        assertArrayEquals(new long[] {2}, entry.shape());
        assertEquals(Entry.ofInts(new long[] {2}, new int[] {1, 2}), entry);
    }

    @Test
    void writerRefusesTheReservedNameAndLeavesNoFile() throws IOException {
        Path p = dir.resolve("x.safetensors");
        var e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(p,
                Map.of("__metadata__", Entry.ofInts(new long[] {1}, new int[] {1})), null));
        assertEquals("safetensors: '__metadata__' is reserved and cannot name a tensor", e.getMessage());
        assertFalse(Files.exists(p));
    }
}
