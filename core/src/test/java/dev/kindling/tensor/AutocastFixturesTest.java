package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.StateDicts;
import dev.kindling.nn.Functional;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** BF16 autocast against PyTorch's CPU autocast (tools/golden/amp_fixtures.py): outputs and FLOAT32 gradients. */
class AutocastFixturesTest {
    private static Map<String, Tensor> golden;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = AutocastFixturesTest.class.getResourceAsStream("/golden/amp.safetensors")) {
            Path tmp = Files.createTempFile("amp", ".safetensors");
            try {
                Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                golden = StateDicts.load(tmp).tensors();
            } finally {
                Files.delete(tmp);
            }
        }
    }

    private static Function<Tensor[], Tensor> op(String name) {
        return switch (name) {
            case "linear" -> in -> in[0].linear(in[1], in[2]);
            case "linear_nb" -> in -> in[0].linear(in[1], null);
            case "mlp" -> in -> Functional.crossEntropy(in[0].linear(in[2], in[3]).relu().linear(in[4], in[5]), in[1]);
            default -> in -> in[0].matmul(in[1]);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"linear", "linear_nb", "matmul_2d", "matmul_3d2d", "bmm", "mlp"})
    void matchesPyTorchBf16Autocast(String name) {
        int n = 0;
        while (golden.containsKey(name + ".in." + n)) n++;
        Tensor[] in = new Tensor[n];
        for (int i = 0; i < n; i++) {
            in[i] = golden.get(name + ".in." + i).contiguous();
            if (golden.containsKey(name + ".grad." + i)) in[i] = Tensor.fromArray(in[i].toFloatArray(), in[i].shape()).requiresGrad(true);
        }
        Tensor out;
        try (var ac = Autocast.enable(DType.BF16)) {
            out = op(name).apply(in);
        }
        assertEquals(name.equals("mlp") ? DType.FLOAT32 : DType.BF16, out.dtype(), name + ": output dtype");
        check(name + ".out", out.toFloatArray());
        out.backward(golden.get(name + ".gout"));
        for (int i = 0; i < n; i++) {
            if (!golden.containsKey(name + ".grad." + i)) continue;
            assertEquals(DType.FLOAT32, in[i].grad().dtype(), name + ": gradient " + i + " must be FLOAT32 (master weights)");
            check(name + ".grad." + i, in[i].grad().toFloatArray());
        }
    }

    /**
     * Against the exact semantics (bf16 casts, float64 sums): within one bf16 rounding step, since float
     * accumulation only moves a result across a rounding boundary. Against PyTorch's own output normwise: this
     * PyTorch build accumulates bf16 products partly in bf16 and is up to about 1% (normwise) from the exact values.
     */
    private static void check(String key, float[] got) {
        int dot = key.indexOf('.');
        float[] ref = golden.get(key.substring(0, dot) + ".ref" + key.substring(dot)).toFloatArray();
        float[] torch = golden.get(key).toFloatArray();
        assertEquals(ref.length, got.length, key + ": length");
        double maxRef = 0, maxDiff = 0, scale = 0;
        for (float v : ref) scale = Math.max(scale, Math.abs(v));
        // In the chained mlp case a one-step rounding difference early on (the float32 loss gradient) reaches
        // small gradients through sums that cancel: there, allow 1% of the tensor's largest value as well.
        double atol = key.startsWith("mlp") ? 1e-2 * scale : 1e-5;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Math.abs(ref[i] - got[i]) <= atol + 8e-3 * Math.abs(ref[i]),
                    key + "[" + i + "]: exact bf16 semantics " + ref[i] + ", Kindling " + got[i]);
            maxRef = Math.max(maxRef, Math.abs(torch[i]));
            maxDiff = Math.max(maxDiff, Math.abs(torch[i] - got[i]));
        }
        assertTrue(maxDiff <= 0.02 * maxRef, key + ": max difference to PyTorch " + maxDiff + " exceeds 2% of its max " + maxRef);
    }
}
