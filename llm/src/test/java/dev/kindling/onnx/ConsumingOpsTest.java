package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Arithmetic and LayerNormalization write over their first input when it dies at that step (a value read later, a
 * constant and the caller's input never are): results against sums written out by hand.
 */
class ConsumingOpsTest {
    @TempDir
    Path dir;

    @Test
    void deadInputsAreOverwrittenLiveOnesAreNot() throws Exception {
        // m = 2x; s = m + b (m still read below: kept); t = s + b (s dead: written over); y = LayerNorm(t) (t dead);
        // u = m * b (m's last use); v = x + b (x is the caller's: never written)
        var g = new ProtoBuilder()
                .message(1, ProtoBuilder.node("Mul", "m", new String[] {"x", "two"}, "m"))
                .message(1, ProtoBuilder.node("Add", "s", new String[] {"m", "b"}, "s"))
                .message(1, ProtoBuilder.node("Add", "t", new String[] {"s", "b"}, "t"))
                .message(1, ProtoBuilder.node("LayerNormalization", "y", new String[] {"t", "gamma", "beta"}, "y"))
                .message(1, ProtoBuilder.node("Mul", "u", new String[] {"m", "b"}, "u"))
                .message(1, ProtoBuilder.node("Add", "v", new String[] {"x", "b"}, "v"))
                .string(2, "consuming")
                .message(5, ProtoBuilder.floatTensor("two", new int[0], 2f))
                .message(5, ProtoBuilder.floatTensor("b", new int[] {3}, 1, -1, 0.5f))
                .message(5, ProtoBuilder.floatTensor("gamma", new int[] {3}, 1, 2, 3))
                .message(5, ProtoBuilder.floatTensor("beta", new int[] {3}, 0, 0, 1))
                .message(11, ProtoBuilder.floatInfo("x", 2, 3))
                .message(12, ProtoBuilder.floatInfo("y", 2, 3)).message(12, ProtoBuilder.floatInfo("u", 2, 3))
                .message(12, ProtoBuilder.floatInfo("v", 2, 3));
        Path file = dir.resolve("consuming.onnx");
        Files.write(file, ProtoBuilder.model(17, g));
        OnnxModel m = OnnxModel.load(file, false);
        float[] x = {1, 2, 3, -1, 0, 4}, b = {1, -1, 0.5f}, gamma = {1, 2, 3}, beta = {0, 0, 1};
        Map<String, Value> in = Map.of("x", Value.floats(x.clone(), 2, 3));
        float[] y = new float[6], u = new float[6], v = new float[6];
        for (int r = 0; r < 2; r++) {
            double[] t = new double[3];
            double mean = 0, var = 0;
            for (int j = 0; j < 3; j++) {
                t[j] = 2 * x[r * 3 + j] + 2 * b[j];
                mean += t[j] / 3;
                u[r * 3 + j] = 2 * x[r * 3 + j] * b[j];
                v[r * 3 + j] = x[r * 3 + j] + b[j];
            }
            for (int j = 0; j < 3; j++) var += (t[j] - mean) * (t[j] - mean) / 3;
            for (int j = 0; j < 3; j++) y[r * 3 + j] = (float) ((t[j] - mean) / Math.sqrt(var + 1e-5) * gamma[j] + beta[j]);
        }
        for (int run = 0; run < 2; run++) {
            Value[] out = m.runValues(in);
            for (int i = 0; i < 6; i++) {
                assertEquals(y[i], out[0].f[i], 1e-5, "y element " + i + ", run " + run);
                assertEquals(u[i], out[1].f[i], 0f, "u element " + i + ", run " + run);
                assertEquals(v[i], out[2].f[i], 0f, "v element " + i + ", run " + run);
            }
            assertArrayEquals(x, in.get("x").f, 0f, "the caller's input was written");
        }
    }
}
