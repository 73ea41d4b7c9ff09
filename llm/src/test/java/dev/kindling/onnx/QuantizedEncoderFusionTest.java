package dev.kindling.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import dev.kindling.kernels.Parallel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny dynamically quantized BERT encoder (two post-LayerNorm layers, hidden 15 = 3 heads of 5, feed-forward 37),
 * written op by op the way the ONNX Runtime quantizer exports one (DynamicQuantizeLinear shared by query, key and
 * value; MatMulInteger → Cast → Mul by the scale product → Add bias; the attention output, the first norm's output
 * and the GELU output each quantized once over the whole tensor): the fused graph runs one QuantizedEncoderLayer per
 * layer and gives the op-by-op graph's results; a layer that does not match the pattern keeps its op-by-op steps.
 */
class QuantizedEncoderFusionTest {
    private static final int HEADS = 3, HS = 5, H = HEADS * HS, I = 37;

    @TempDir
    Path dir;

    @Test
    void fusedLayersMatchTheOpByOpGraph() throws Exception {
        Path file = write("encoder.onnx", false);
        OnnxModel fused = OnnxModel.load(file), plain = OnnxModel.load(file, false);
        List<String> steps = fused.graph().stepLabels();
        assertEquals(2, steps.stream().filter(l -> l.startsWith("QuantizedEncoderLayer ")).count(), steps.toString());
        assertTrue(steps.stream().noneMatch(l -> l.startsWith("MatMulIntegerToFloat ") || l.startsWith("DynamicQuantize")), steps.toString());
        // 2 x 7 tokens on two threads: each layer split over the threads; 3 x 23: the whole-batch path
        int saved = Parallel.threads();
        try {
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                for (int[] bt : new int[][] {{2, 7}, {3, 23}})
                    compare(fused, plain, bt[0], bt[1], "batch " + bt[0] + " x " + bt[1] + " on " + threads + " threads");
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void aLayerThatDoesNotMatchKeepsItsOpByOpSteps() throws Exception {
        // the first layer's attention norm output is also a graph output: that layer cannot be fused, the second is
        Path file = write("partial.onnx", true);
        OnnxModel fused = OnnxModel.load(file), plain = OnnxModel.load(file, false);
        List<String> steps = fused.graph().stepLabels();
        assertEquals(1, steps.stream().filter(l -> l.startsWith("QuantizedEncoderLayer ")).count(), steps.toString());
        assertTrue(steps.stream().anyMatch(l -> l.startsWith("MatMulIntegerToFloat ")), steps.toString());
        compare(fused, plain, 2, 7, "partially fused");
    }

    @Test
    void aBatchOfTheWrongWidthIsNamed() throws Exception {
        OnnxModel fused = OnnxModel.load(write("bad.onnx", false));
        Map<String, Value> in = Map.of("x", Value.floats(new float[2 * 3 * 14], 2, 3, 14), "mask", Value.floats(new float[6], 2, 1, 1, 3));
        var e = assertThrows(IllegalArgumentException.class, () -> fused.runValues(in));
        assertTrue(e.getMessage().contains("14") && e.getMessage().contains("15"), e.getMessage());
    }

    private static void compare(OnnxModel fused, OnnxModel plain, int b, int t, String what) {
        var rnd = new SplittableRandom(31 + b);
        float[] x = new float[b * t * H], mask = new float[b * t];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 1; i < b; i++) for (int j = t - 2 * i; j < t; j++) mask[i * t + j] = -Float.MAX_VALUE; // as the export's mask: padded keys
        Map<String, Value> in = Map.of("x", Value.floats(x, b, t, H), "mask", Value.floats(mask, b, 1, 1, t));
        Value[] expected = plain.runValues(in), actual = fused.runValues(in);
        for (int k = 0; k < expected.length; k++)
            for (int i = 0; i < expected[k].numel(); i++)
                assertEquals(expected[k].f[i], actual[k].f[i], 1e-4, what + ": output " + k + " element " + i);
        assertArrayEquals(x, in.get("x").f, 0f, what + ": the caller's input was written");
        assertArrayEquals(actual[0].f, fused.runValues(in)[0].f, 0f, what + ": a second run differs");
    }

    // ---------------------------------------------------------------- the model, op by op

    private Path write(String name, boolean exposeFirstNorm) throws Exception {
        var rnd = new SplittableRandom(5);
        var g = new ProtoBuilder();
        List<ProtoBuilder> inits = new ArrayList<>();
        inits.add(longTensor("shape4", 0, 0, HEADS, HS));
        inits.add(longTensor("shape3", 0, 0, H));
        inits.add(ProtoBuilder.floatTensor("sqrt_d", new int[0], (float) Math.sqrt(HS)));
        inits.add(ProtoBuilder.floatTensor("sqrt2", new int[0], (float) Math.sqrt(2)));
        inits.add(ProtoBuilder.floatTensor("one", new int[0], 1f));
        inits.add(ProtoBuilder.floatTensor("half", new int[0], 0.5f));
        String x = "x";
        for (int l = 0; l < 2; l++) x = layer(g, inits, rnd, "l" + l + "/", x);
        for (ProtoBuilder t : inits) g.message(5, t);
        g.string(2, "quantized-encoder");
        g.message(11, ProtoBuilder.floatInfo("x", -1, -1, H)).message(11, ProtoBuilder.floatInfo("mask", -1, 1, 1, -1));
        g.message(12, ProtoBuilder.floatInfo(x, -1, -1, H));
        if (exposeFirstNorm) g.message(12, ProtoBuilder.floatInfo("l0/a", -1, -1, H));
        Path file = dir.resolve(name);
        Files.write(file, ProtoBuilder.model(17, g));
        return file;
    }

    /** One layer reading x; returns its output's name. */
    private static String layer(ProtoBuilder g, List<ProtoBuilder> inits, SplittableRandom rnd, String p, String x) {
        quantize(g, x, p + "xq");
        String[] qkv = new String[3];
        for (int j = 0; j < 3; j++) qkv[j] = projection(g, inits, rnd, p + "qkv".charAt(j), p + "xq", H, H, true, true);
        String[] heads = new String[3];
        long[][] perms = {{0, 2, 1, 3}, {0, 2, 3, 1}, {0, 2, 1, 3}};
        for (int j = 0; j < 3; j++) {
            g.message(1, ProtoBuilder.node("Reshape", p + "reshape" + j, new String[] {qkv[j], "shape4"}, p + "r" + j));
            g.message(1, ProtoBuilder.node("Transpose", p + "transpose" + j, new String[] {p + "r" + j}, p + "t" + j).message(5, ints("perm", perms[j])));
            heads[j] = p + "t" + j;
        }
        g.message(1, ProtoBuilder.node("MatMul", p + "scores", new String[] {heads[0], heads[1]}, p + "s"));
        g.message(1, ProtoBuilder.node("Div", p + "scale", new String[] {p + "s", "sqrt_d"}, p + "sd"));
        g.message(1, ProtoBuilder.node("Add", p + "mask", new String[] {p + "sd", "mask"}, p + "sm"));
        g.message(1, ProtoBuilder.node("Softmax", p + "softmax", new String[] {p + "sm"}, p + "pr").message(5, intAttr("axis", -1)));
        g.message(1, ProtoBuilder.node("MatMul", p + "context", new String[] {p + "pr", heads[2]}, p + "c4"));
        g.message(1, ProtoBuilder.node("Transpose", p + "back", new String[] {p + "c4"}, p + "ct").message(5, ints("perm", 0, 2, 1, 3)));
        g.message(1, ProtoBuilder.node("Reshape", p + "merge", new String[] {p + "ct", "shape3"}, p + "ctx"));
        quantize(g, p + "ctx", p + "cq");
        // the attention output: one scale for the whole weight and a scalar zero point
        String o = projection(g, inits, rnd, p + "o", p + "cq", H, H, false, true);
        g.message(1, ProtoBuilder.node("Add", p + "residual1", new String[] {o, x}, p + "res1"));
        norm(g, inits, rnd, p + "norm1", p + "res1", p + "a");
        quantize(g, p + "a", p + "aq");
        String up = projection(g, inits, rnd, p + "up", p + "aq", H, I, true, true);
        g.message(1, ProtoBuilder.node("Div", p + "gelu/div", new String[] {up, "sqrt2"}, p + "gd"));
        g.message(1, ProtoBuilder.node("Erf", p + "gelu/erf", new String[] {p + "gd"}, p + "ge"));
        g.message(1, ProtoBuilder.node("Add", p + "gelu/add", new String[] {p + "ge", "one"}, p + "ga"));
        g.message(1, ProtoBuilder.node("Mul", p + "gelu/mul", new String[] {up, p + "ga"}, p + "gm"));
        g.message(1, ProtoBuilder.node("Mul", p + "gelu/half", new String[] {p + "gm", "half"}, p + "gelu"));
        quantize(g, p + "gelu", p + "fq");
        // the down projection: no weight zero point
        String down = projection(g, inits, rnd, p + "down", p + "fq", I, H, true, false);
        g.message(1, ProtoBuilder.node("Add", p + "residual2", new String[] {down, p + "a"}, p + "res2"));
        norm(g, inits, rnd, p + "norm2", p + "res2", p + "out");
        return p + "out";
    }

    private static void quantize(ProtoBuilder g, String x, String q) {
        g.message(1, ProtoBuilder.node("DynamicQuantizeLinear", q, new String[] {x}, q, q + "_scale", q + "_zp"));
    }

    /**
     * MatMulInteger(q, W, q_zp, W_zp) → Cast → Mul by (q_scale * W_scale) → Add bias, with int8 codes, a scale per
     * column or one, a zero point per column or none.
     */
    private static String projection(ProtoBuilder g, List<ProtoBuilder> inits, SplittableRandom rnd, String p, String q, int in, int out,
                                     boolean perColumn, boolean zeroPoint) {
        byte[] w = new byte[in * out], zp = new byte[out];
        for (int i = 0; i < w.length; i++) w[i] = (byte) (rnd.nextInt(256) - 128);
        for (int j = 0; j < out; j++) zp[j] = (byte) (rnd.nextInt(9) - 4);
        float[] scale = new float[perColumn ? out : 1], bias = new float[out];
        for (int j = 0; j < scale.length; j++) scale[j] = (float) ((0.8 + 0.4 * rnd.nextDouble()) / (74 * Math.sqrt(in)));
        for (int j = 0; j < out; j++) bias[j] = (float) (rnd.nextDouble() * 0.4 - 0.2);
        inits.add(int8Tensor(p + "/W", new int[] {in, out}, w));
        inits.add(ProtoBuilder.floatTensor(p + "/W_scale", perColumn ? new int[] {out} : new int[0], scale));
        inits.add(ProtoBuilder.floatTensor(p + "/bias", new int[] {out}, bias));
        if (zeroPoint) inits.add(int8Tensor(p + "/W_zp", new int[] {out}, zp));
        g.message(1, ProtoBuilder.node("Mul", p + "/scales", new String[] {q + "_scale", p + "/W_scale"}, p + "/s"));
        g.message(1, ProtoBuilder.node("MatMulInteger", p + "/matmul", new String[] {q, p + "/W", q + "_zp", zeroPoint ? p + "/W_zp" : ""}, p + "/i"));
        g.message(1, ProtoBuilder.node("Cast", p + "/cast", new String[] {p + "/i"}, p + "/f").message(5, intAttr("to", 1)));
        g.message(1, ProtoBuilder.node("Mul", p + "/rescale", new String[] {p + "/f", p + "/s"}, p + "/m"));
        g.message(1, ProtoBuilder.node("Add", p + "/add_bias", new String[] {p + "/bias", p + "/m"}, p + "/y"));
        return p + "/y";
    }

    private static void norm(ProtoBuilder g, List<ProtoBuilder> inits, SplittableRandom rnd, String p, String x, String y) {
        float[] gamma = new float[H], beta = new float[H];
        for (int j = 0; j < H; j++) {
            gamma[j] = (float) (0.8 + 0.4 * rnd.nextDouble());
            beta[j] = (float) (rnd.nextDouble() * 0.2 - 0.1);
        }
        inits.add(ProtoBuilder.floatTensor(p + "/gamma", new int[] {H}, gamma));
        inits.add(ProtoBuilder.floatTensor(p + "/beta", new int[] {H}, beta));
        g.message(1, ProtoBuilder.node("LayerNormalization", p, new String[] {x, p + "/gamma", p + "/beta"}, y)
                .message(5, intAttr("axis", -1)).message(5, new ProtoBuilder().string(1, "epsilon").float32(2, 1e-12f).varint(20, 1)));
    }

    private static ProtoBuilder intAttr(String name, long v) {
        return new ProtoBuilder().string(1, name).varint(3, v).varint(20, 2);
    }

    private static ProtoBuilder ints(String name, long... v) {
        ProtoBuilder a = new ProtoBuilder().string(1, name);
        for (long i : v) a.varint(8, i);
        return a.varint(20, 7);
    }

    private static ProtoBuilder longTensor(String name, long... v) {
        ProtoBuilder t = new ProtoBuilder().varint(1, v.length).varint(2, 7).string(8, name);
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return t.bytes(9, b.array());
    }

    private static ProtoBuilder int8Tensor(String name, int[] dims, byte[] v) {
        ProtoBuilder t = new ProtoBuilder();
        for (int d : dims) t.varint(1, d);
        return t.varint(2, 3).string(8, name).bytes(9, v);
    }
}
