package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.io.FileFormatException;
import dev.kindling.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading .onnx files: a small model runs; truncated, lying and unsupported files fail at load with clear errors. */
class OnnxModelFileTest {
    @TempDir
    Path dir;

    /** y = x * w + b over [2, 3] with w, b initializers (b from external data when asked). */
    private ProtoBuilder graph(ProtoBuilder bias) {
        return new ProtoBuilder()
                .message(1, ProtoBuilder.node("Mul", "scale", new String[] {"x", "w"}, "xw"))
                .message(1, ProtoBuilder.node("Add", "shift", new String[] {"xw", "b"}, "y"))
                .string(2, "tiny")
                .message(5, ProtoBuilder.floatTensor("w", new int[] {3}, 1f, 2f, 3f))
                .message(5, bias)
                .message(11, ProtoBuilder.floatInfo("x", -1, 3))
                .message(12, ProtoBuilder.floatInfo("y", -1, 3));
    }

    private Path write(String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static float[] run(OnnxModel m) {
        Tensor x = Tensor.fromArray(new float[] {1, 1, 1, 2, 2, 2}, 2, 3);
        return m.run(Map.of("x", x)).get("y").toFloatArray();
    }

    @Test
    void runsASmallModel() throws Exception {
        OnnxModel m = OnnxModel.load(write("m.onnx", ProtoBuilder.model(13, graph(ProtoBuilder.floatTensor("b", new int[] {3}, 10, 20, 30)))));
        assertEquals(List.of("x"), m.inputNames());
        assertEquals(List.of("y"), m.outputNames());
        assertArrayEquals(new int[] {-1, 3}, m.inputShape("x"));
        assertArrayEquals(new float[] {11, 22, 33, 12, 24, 36}, run(m));
    }

    private ProtoBuilder externalBias(String location, long offset, long length) {
        ProtoBuilder t = new ProtoBuilder().varint(1, 3).varint(2, 1).string(8, "b");
        t.message(13, new ProtoBuilder().string(1, "location").string(2, location));
        t.message(13, new ProtoBuilder().string(1, "offset").string(2, Long.toString(offset)));
        t.message(13, new ProtoBuilder().string(1, "length").string(2, Long.toString(length)));
        return t.varint(14, 1);
    }

    @Test
    void readsExternalData() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(-1).putFloat(10).putFloat(20).putFloat(30);
        write("weights.bin", b.array());
        OnnxModel m = OnnxModel.load(write("ext.onnx", ProtoBuilder.model(13, graph(externalBias("weights.bin", 4, 12)))));
        assertArrayEquals(new float[] {11, 22, 33, 12, 24, 36}, run(m));
    }

    @Test
    void externalDataOutsideTheFolderOrPastItsFileIsRefused() throws Exception {
        write("weights.bin", new byte[12]);
        var e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("a.onnx", ProtoBuilder.model(13, graph(externalBias("../secret.bin", 0, 12))))));
        assertTrue(e.getMessage().contains("outside the model's folder"), e.getMessage());
        e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("b.onnx", ProtoBuilder.model(13, graph(externalBias("weights.bin", 4, 12))))));
        assertTrue(e.getMessage().contains("[4, 16) lies outside 'weights.bin' of 12 bytes"), e.getMessage());
        e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("c.onnx", ProtoBuilder.model(13, graph(externalBias("weights.bin", 0, 8))))));
        assertTrue(e.getMessage().contains("length 8 differs from the 12 bytes"), e.getMessage());
        e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("d.onnx", ProtoBuilder.model(13, graph(externalBias("missing.bin", 0, 12))))));
        assertTrue(e.getMessage().contains("cannot read external data 'missing.bin'"), e.getMessage());
    }

    @Test
    void rawDataOfTheWrongSizeIsNamed() throws Exception {
        ProtoBuilder lying = new ProtoBuilder().varint(1, 2).varint(1, 3).varint(2, 1).string(8, "b").bytes(9, new byte[20]);
        var e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("m.onnx", ProtoBuilder.model(13, graph(lying)))));
        assertTrue(e.getMessage().contains("tensor 'b' of shape [2, 3] and type FLOAT needs 24 bytes of raw data but has 20"), e.getMessage());
    }

    @Test
    void everyTruncationFailsWithAnOnnxError() throws Exception {
        byte[] whole = ProtoBuilder.model(13, graph(ProtoBuilder.floatTensor("b", new int[] {3}, 10, 20, 30)));
        int clear = 0;
        for (int n = 0; n < whole.length; n++) {
            Path p = write("t.onnx", Arrays.copyOf(whole, n));
            try {
                OnnxModel.load(p);
                fail("a model truncated to " + n + " of " + whole.length + " bytes loaded");
            } catch (FileFormatException | IllegalArgumentException | UnsupportedOperationException e) {
                assertTrue(e.getMessage().contains("onnx"), "truncated to " + n + ": " + e);
                if (e.getMessage().contains("are left") || e.getMessage().contains("truncated")) clear++;
            }
        }
        assertTrue(clear > whole.length / 2, "most truncations should be reported as such, got " + clear + " of " + whole.length);
    }

    @Test
    void aFileThatIsNotOnnxIsRefused() throws Exception {
        var e = assertThrows(FileFormatException.class, () -> OnnxModel.load(write("x.onnx", "hello, this is text\n".getBytes())));
        assertTrue(e.getMessage().contains("x.onnx"), e.getMessage());
    }

    @Test
    void anUnsupportedOpIsNamedAtLoad() throws Exception {
        ProtoBuilder g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("Relu", "ok", new String[] {"x"}, "r"))
                .message(1, ProtoBuilder.node("FancyOp", "layer3/fancy", new String[] {"r"}, "y"))
                .message(11, ProtoBuilder.floatInfo("x", 2))
                .message(12, ProtoBuilder.floatInfo("y", 2));
        var e = assertThrows(UnsupportedOperationException.class, () -> OnnxModel.load(write("u.onnx", ProtoBuilder.model(13, g))));
        assertEquals("onnx: op FancyOp (node FancyOp 'layer3/fancy') is not supported", e.getMessage());
    }

    @Test
    void shapesThatCannotMatchFailAtLoad() throws Exception {
        ProtoBuilder g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("MatMul", "proj", new String[] {"x", "w"}, "y"))
                .message(5, ProtoBuilder.floatTensor("w", new int[] {4, 2}, new float[8]))
                .message(11, ProtoBuilder.floatInfo("x", -1, 3))
                .message(12, ProtoBuilder.floatInfo("y", -1, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(write("s.onnx", ProtoBuilder.model(13, g))));
        assertTrue(e.getMessage().contains("proj") && e.getMessage().contains("(3 vs 4)"), e.getMessage());
    }

    @Test
    void aValueReadBeforeItIsDefinedIsNamed() throws Exception {
        ProtoBuilder g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("Relu", "first", new String[] {"later"}, "y"))
                .message(1, ProtoBuilder.node("Relu", "second", new String[] {"x"}, "later"))
                .message(11, ProtoBuilder.floatInfo("x", 2))
                .message(12, ProtoBuilder.floatInfo("y", 2));
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(write("o.onnx", ProtoBuilder.model(13, g))));
        assertTrue(e.getMessage().contains("'first' reads 'later'"), e.getMessage());
    }

    @Test
    void badInputsAtRunAreNamed() throws Exception {
        OnnxModel m = OnnxModel.load(write("m.onnx", ProtoBuilder.model(13, graph(ProtoBuilder.floatTensor("b", new int[] {3}, 1, 2, 3)))));
        var e = assertThrows(IllegalArgumentException.class, () -> m.run(Map.of("x", Tensor.zeros(2, 4))));
        assertTrue(e.getMessage().contains("input 'x' has shape [2, 4] but the model declares [-1, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.run(Map.of()));
        assertTrue(e.getMessage().contains("input 'x' is missing"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.run(Map.of("x", Tensor.zeros(2, 3), "z", Tensor.zeros(1))));
        assertTrue(e.getMessage().contains("'z' is not an input"), e.getMessage());
    }
}
