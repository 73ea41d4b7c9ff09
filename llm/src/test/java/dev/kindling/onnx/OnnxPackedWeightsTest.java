package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ops on weights packed at load: Gemm with a constant B (both layouts, alpha, beta and C) and three Linears on one
 * input grouped into one GEMM (one without bias), against sums written out by hand.
 */
class OnnxPackedWeightsTest {
    @TempDir
    Path dir;

    // x [2, 3]; W1 [3, 2], W2 [3, 1], W3 [3, 2]
    private static final float[] X = {1, 2, 3, -1, 0, 2};
    private static final float[] W1 = {1, 0, 0, 1, 1, 1}, W2 = {2, -1, 0.5f}, W3 = {0, 1, 1, 0, 2, 2};

    private static float[] matmul(float[] a, float[] b, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
        return c;
    }

    private static ProtoBuilder attr(String name, float f) {
        return new ProtoBuilder().string(1, name).float32(2, f).varint(20, 1);
    }

    private static ProtoBuilder attr(String name, long i) {
        return new ProtoBuilder().string(1, name).varint(3, i).varint(20, 2);
    }

    @Test
    void linearsOnOneInputRunAsOneGroupedGemm() throws Exception {
        var g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("MatMul", "q", new String[] {"x", "w1"}, "q0"))
                .message(1, ProtoBuilder.node("Add", "qb", new String[] {"q0", "b1"}, "q"))
                .message(1, ProtoBuilder.node("MatMul", "k", new String[] {"x", "w2"}, "k"))
                .message(1, ProtoBuilder.node("MatMul", "v", new String[] {"x", "w3"}, "v0"))
                .message(1, ProtoBuilder.node("Add", "vb", new String[] {"v0", "b3"}, "v"))
                .string(2, "group")
                .message(5, ProtoBuilder.floatTensor("w1", new int[] {3, 2}, W1))
                .message(5, ProtoBuilder.floatTensor("w2", new int[] {3, 1}, W2))
                .message(5, ProtoBuilder.floatTensor("w3", new int[] {3, 2}, W3))
                .message(5, ProtoBuilder.floatTensor("b1", new int[] {2}, 10, 20))
                .message(5, ProtoBuilder.floatTensor("b3", new int[] {2}, -1, -2))
                .message(11, ProtoBuilder.floatInfo("x", -1, 3))
                .message(12, ProtoBuilder.floatInfo("q", -1, 2)).message(12, ProtoBuilder.floatInfo("k", -1, 1))
                .message(12, ProtoBuilder.floatInfo("v", -1, 2));
        Path file = dir.resolve("group.onnx");
        Files.write(file, ProtoBuilder.model(13, g));
        OnnxModel m = OnnxModel.load(file);
        assertTrue(m.graph().stepLabels().stream().anyMatch(l -> l.startsWith("LinearGroup")), m.graph().stepLabels().toString());
        // packed at load: the graph does not hold the weights a second time
        assertTrue(m.graph().heldConstants().stream().noneMatch(java.util.Set.of("w1", "w2", "w3", "b1", "b3")::contains),
                m.graph().heldConstants().toString());
        Map<String, Tensor> out = m.run(Map.of("x", Tensor.fromArray(X, 2, 3)));
        float[] q = matmul(X, W1, 2, 3, 2), k = matmul(X, W2, 2, 3, 1), v = matmul(X, W3, 2, 3, 2);
        for (int i = 0; i < 4; i++) {
            q[i] += i % 2 == 0 ? 10 : 20;
            v[i] += i % 2 == 0 ? -1 : -2;
        }
        assertArrayClose(q, out.get("q").toFloatArray());
        assertArrayClose(k, out.get("k").toFloatArray());
        assertArrayClose(v, out.get("v").toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> m.run(Map.of("x", Tensor.zeros(2, 4))));
        assertTrue(e.getMessage().contains("4") && e.getMessage().contains("3"), e.getMessage());
    }

    @Test
    void gemmWithAConstantBInBothLayouts() throws Exception {
        float[] wt = new float[6]; // W1 [3, 2] stored transposed [2, 3]
        for (int p = 0; p < 3; p++) for (int j = 0; j < 2; j++) wt[j * 3 + p] = W1[p * 2 + j];
        for (int transB = 0; transB < 2; transB++) {
            var node = ProtoBuilder.node("Gemm", "gemm", new String[] {"x", "w", "c"}, "y")
                    .message(5, attr("alpha", 0.5f)).message(5, attr("beta", 2f)).message(5, attr("transB", (long) transB));
            var g = new ProtoBuilder().message(1, node).string(2, "gemm")
                    .message(5, transB == 1 ? ProtoBuilder.floatTensor("w", new int[] {2, 3}, wt) : ProtoBuilder.floatTensor("w", new int[] {3, 2}, W1))
                    .message(5, ProtoBuilder.floatTensor("c", new int[] {2}, 1, -1))
                    .message(11, ProtoBuilder.floatInfo("x", 2, 3))
                    .message(12, ProtoBuilder.floatInfo("y", 2, 2));
            Path file = dir.resolve("gemm" + transB + ".onnx");
            Files.write(file, ProtoBuilder.model(13, g));
            float[] expected = matmul(X, W1, 2, 3, 2);
            for (int i = 0; i < 4; i++) expected[i] = 0.5f * expected[i] + 2 * (i % 2 == 0 ? 1 : -1);
            assertArrayClose(expected, OnnxModel.load(file).run(Map.of("x", Tensor.fromArray(X, 2, 3))).get("y").toFloatArray());
        }
    }

    private static void assertArrayClose(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-5, "at " + i);
    }
}
