package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A quantized embedding lookup (Gather from a constant int8 table → DequantizeLinear with one scale and zero point)
 * runs as one GatherDequantized step with DequantizeLinear's bits; one that dequantizes per column stays op by op.
 */
class GatherDequantizedTest {
    @TempDir
    Path dir;

    private static final byte[] TABLE = {1, -2, 3, 127, -128, 0, 5, 6, 7, -9, 10, 11, 12, 13, -14}; // [5, 3]

    private Path write(String name, boolean perColumn) throws Exception {
        return write(name, perColumn, 3);
    }

    /** The lookup of {@link #TABLE} as element type {@code tableType} (3 INT8, 2 UINT8: the same bytes read unsigned). */
    private Path write(String name, boolean perColumn, int tableType) throws Exception {
        var scale = perColumn ? ProtoBuilder.floatTensor("scale", new int[] {3}, 0.1f, 0.2f, 0.3f) : ProtoBuilder.floatTensor("scale", new int[0], 0.037f);
        var zp = new ProtoBuilder().string(8, "zp").varint(2, tableType).bytes(9, perColumn ? new byte[] {1, 2, 3} : new byte[] {-3});
        if (perColumn) zp.varint(1, 3);
        var g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("Gather", "lookup", new String[] {"table", "ids"}, "codes"))
                .message(1, ProtoBuilder.node("DequantizeLinear", "dequantize", new String[] {"codes", "scale", "zp"}, "y")
                        .message(5, new ProtoBuilder().string(1, "axis").varint(3, 2).varint(20, 2)))
                .string(2, "embedding")
                .message(5, new ProtoBuilder().varint(1, 5).varint(1, 3).varint(2, tableType).string(8, "table").bytes(9, TABLE))
                .message(5, scale).message(5, zp)
                .message(11, new ProtoBuilder().string(1, "ids").message(2, new ProtoBuilder().message(1, new ProtoBuilder().varint(1, 7)
                        .message(2, new ProtoBuilder().message(1, new ProtoBuilder().string(2, "b")).message(1, new ProtoBuilder().string(2, "t"))))))
                .message(12, ProtoBuilder.floatInfo("y", -1, -1, 3));
        Path file = dir.resolve(name);
        Files.write(file, ProtoBuilder.model(13, g));
        return file;
    }

    @Test
    void oneScaleRunsAsOneStepWithTheSameBits() throws Exception {
        Path file = write("embedding.onnx", false);
        OnnxModel fused = OnnxModel.load(file), plain = OnnxModel.load(file, false);
        List<String> steps = fused.graph().stepLabels();
        assertEquals(1, steps.size(), steps.toString());
        assertTrue(steps.get(0).startsWith("GatherDequantized "), steps.toString());
        Map<String, Value> in = Map.of("ids", Value.longs(DataType.INT64, new long[] {4, 0, -1, 2, 2, 1}, 2, 3));
        float[] y = fused.runValues(in)[0].f;
        assertArrayEquals(plain.runValues(in)[0].f, y, 0f);
        assertEquals((-14 + 3) * 0.037f, y[2], 0f); // row 4, column 2
        assertEquals((12 + 3) * 0.037f, y[6], 0f); // index -1 is row 4
        var e = assertThrows(IllegalArgumentException.class, () -> fused.runValues(Map.of("ids", Value.longs(DataType.INT64, new long[] {5}, 1, 1))));
        assertTrue(e.getMessage().contains("index 5 is out of range for a table of 5 rows"), e.getMessage());
        // the step keeps the codes as bytes: the graph no longer holds the table (as longs), the plain graph does
        assertTrue(!fused.graph().heldConstants().contains("table") && plain.graph().heldConstants().contains("table"),
                fused.graph().heldConstants() + " / " + plain.graph().heldConstants());
    }

    @Test
    void anUnsignedTableReadsItsBytesUnsigned() throws Exception {
        Path file = write("unsigned.onnx", false, 2);
        OnnxModel fused = OnnxModel.load(file), plain = OnnxModel.load(file, false);
        assertTrue(fused.graph().stepLabels().get(0).startsWith("GatherDequantized "), fused.graph().stepLabels().toString());
        Map<String, Value> in = Map.of("ids", Value.longs(DataType.INT64, new long[] {1, 3}, 1, 2));
        float[] y = fused.runValues(in)[0].f;
        assertArrayEquals(plain.runValues(in)[0].f, y, 0f);
        assertEquals((128 - 253) * 0.037f, y[1], 0f); // row 1, column 1: byte -128 is 128 unsigned; zero point byte -3 is 253
    }

    @Test
    void aScalePerColumnStaysOpByOp() throws Exception {
        Path file = write("columns.onnx", true);
        OnnxModel fused = OnnxModel.load(file), plain = OnnxModel.load(file, false);
        assertEquals(List.of("Gather", "DequantizeLinear"), fused.graph().stepLabels().stream().map(l -> l.split(" ")[0]).toList());
        Map<String, Value> in = Map.of("ids", Value.longs(DataType.INT64, new long[] {3, 1}, 1, 2));
        assertArrayEquals(plain.runValues(in)[0].f, fused.runValues(in)[0].f, 0f);
    }
}
