package dev.kindling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.nn.Functional;
import dev.kindling.nn.Functional.Reduction;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of {@code golden/ops.safetensors} (written by PyTorch, see tools/golden/README.md) run through
 * Kindling: the forward output and the gradient of every input that has one must match PyTorch's.
 *
 * <p>PyTorch computed the fixture in float64 and rounded once to float32, so the expected values are as
 * exact as float32 allows; the tolerance (1e-5 relative, 1e-6 absolute floor) only absorbs Kindling's own
 * float32 rounding on these tiny shapes (the worst case uses about a quarter of it). Each case also runs with
 * its matrix inputs as strided (transposed) views, which must give the same results. An op name this test
 * does not know fails, so a case added to the generator cannot go unchecked.
 */
class GoldenFixturesTest {
    static final double RTOL = 1e-5, ATOL = 1e-6;

    private static Map<String, Tensor> tensors;
    private static Map<String, String> metadata;

    private static synchronized void load() {
        if (tensors != null) return;
        try (InputStream in = GoldenFixturesTest.class.getResourceAsStream("/golden/ops.safetensors")) {
            if (in == null) throw new IllegalStateException("test resource golden/ops.safetensors is missing");
            // StateDicts reads files and the resource may sit inside a jar: load a temporary copy into the heap.
            Path file = Files.createTempFile("kindling-golden", ".safetensors");
            try {
                Files.write(file, in.readAllBytes());
                StateDicts.Loaded loaded = StateDicts.load(file);
                tensors = loaded.tensors();
                metadata = loaded.metadata();
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Guards the fixture itself: if it were empty or renamed, the parameterised test would pass vacuously. */
    @Test
    void fixtureHoldsEveryCase() {
        load();
        assertEquals(140, metadata.size(), "cases in golden/ops.safetensors");
        for (String name : tensors.keySet()) {
            String c = name.substring(0, name.indexOf('.'));
            assertTrue(metadata.containsKey(c), "tensor '" + name + "' belongs to no case in __metadata__");
        }
    }

    /** Every case twice: with the stored contiguous inputs, and with each matrix input as a strided view. */
    static Stream<Arguments> cases() {
        load();
        return metadata.keySet().stream().sorted().flatMap(c -> Stream.of(Arguments.of(c, false), Arguments.of(c, true)));
    }

    @ParameterizedTest(name = "{0} strided={1}")
    @MethodSource("cases")
    void matchesPyTorch(String name, boolean strided) {
        load();
        @SuppressWarnings("unchecked")
        Map<String, Object> meta = (Map<String, Object>) Json.parse(metadata.get(name));
        String op = (String) meta.get("op");
        @SuppressWarnings("unchecked")
        Args args = new Args(name, (Map<String, Object>) meta.getOrDefault("args", Map.of()));

        List<Tensor> leaves = new ArrayList<>(), in = new ArrayList<>();
        List<Boolean> transposed = new ArrayList<>();
        for (int i = 0; tensors.containsKey(name + ".in." + i); i++) {
            Tensor stored = tensors.get(name + ".in." + i);
            // Strided: the leaf holds the transposed values and the op sees its transpose, a non-contiguous view
            // of the stored values. Only where both matrix dims exceed 1, since otherwise the view is contiguous.
            boolean t = strided && stored.dim() >= 2 && stored.size(-1) > 1 && stored.size(-2) > 1;
            Tensor leaf = copy(t ? stored.transpose(-2, -1).contiguous() : stored);
            if (tensors.containsKey(name + ".grad." + i)) leaf.requiresGrad(true);
            Tensor input = t ? leaf.transpose(-2, -1) : leaf;
            if (t) assertFalse(input.isContiguous(), name + ": input " + i + " should be a strided view");
            leaves.add(leaf);
            in.add(input);
            transposed.add(t);
        }
        assertFalse(in.isEmpty(), name + ": no inputs");

        Tensor out, indices = null;
        Object result = run(name, op, in, args);
        if (result instanceof Tensor.ValuesIndices vi) {
            out = vi.values();
            indices = vi.indices();
        } else {
            out = (Tensor) result;
        }

        if (tensors.containsKey(name + ".out")) {
            assertClose(name + ".out", tensors.get(name + ".out"), out);
        } else {
            assertClose(name + ".out.0", tensors.get(name + ".out.0"), out);
            assertNotNull(indices, name + ": the fixture has out.1 (indices) but op " + op + " returned none");
            assertClose(name + ".out.1", tensors.get(name + ".out.1"), indices);
        }

        Tensor gout = tensors.get(name + ".gout");
        if (gout == null) {
            for (int i = 0; i < in.size(); i++) assertFalse(tensors.containsKey(name + ".grad." + i), name + ": grad without gout");
            return;
        }
        out.backward(copy(gout));
        for (int i = 0; i < in.size(); i++) {
            Tensor expected = tensors.get(name + ".grad." + i);
            Tensor grad = leaves.get(i).grad();
            if (expected == null) {
                assertNull(grad, name + ": input " + i + " has no gradient in PyTorch but got one");
                continue;
            }
            assertNotNull(grad, name + ": input " + i + " got no gradient");
            assertClose(name + ".grad." + i, expected, transposed.get(i) ? grad.transpose(-2, -1) : grad);
        }
    }

    /** An op name the fixture might gain later must fail here, not pass unchecked. */
    @Test
    void unknownOpFails() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> run("future_case", "frobnicate", List.of(Tensor.scalar(1)), new Args("future_case", Map.of())));
        assertTrue(e.getMessage().contains("frobnicate"), e.getMessage());
    }

    /** Runs fixture op {@code op} on the inputs, the Kindling way: a Tensor, or ValuesIndices for max/min. */
    private static Object run(String name, String op, List<Tensor> in, Args a) {
        Tensor x = in.get(0);
        return switch (op) {
            case "add" -> x.add(in.get(1));
            case "sub" -> x.sub(in.get(1));
            case "mul" -> x.mul(in.get(1));
            case "div" -> x.div(in.get(1));
            case "maximum" -> x.maximum(in.get(1));
            case "minimum" -> x.minimum(in.get(1));
            case "pow" -> in.size() == 2 ? x.pow(in.get(1)) : x.pow(a.dbl("exponent"));
            case "neg" -> x.neg();
            case "exp" -> x.exp();
            case "log" -> x.log();
            case "sqrt" -> x.sqrt();
            case "rsqrt" -> x.rsqrt();
            case "abs" -> x.abs();
            case "tanh" -> x.tanh();
            case "sigmoid" -> x.sigmoid();
            case "relu" -> x.relu();
            case "silu" -> x.silu();
            case "gelu" -> switch (a.str("approximate")) {
                case "none" -> x.gelu();
                case "tanh" -> x.geluTanh();
                default -> throw new AssertionError(name + ": gelu approximate '" + a.str("approximate") + "' is unknown");
            };
            case "clamp" -> x.clamp(a.dbl("min"), a.dbl("max"));
            case "where" -> Tensor.where(x, in.get(1), in.get(2));
            case "masked_fill" -> x.maskedFill(in.get(1), a.dbl("value"));
            case "sum" -> x.sum(a.intsOrNull("dims"), a.bool("keepdim"));
            case "mean" -> x.mean(a.intsOrNull("dims"), a.bool("keepdim"));
            case "var" -> x.var(a.intsOrNull("dims"), a.integer("correction"), a.bool("keepdim"));
            case "std" -> x.std(a.intsOrNull("dims"), a.integer("correction"), a.bool("keepdim"));
            case "max" -> x.max(a.integer("dim"), a.bool("keepdim"));
            case "min" -> x.min(a.integer("dim"), a.bool("keepdim"));
            case "amax" -> x.max();
            case "amin" -> x.min();
            case "argmax" -> {
                if (a.isNull("dim")) {
                    if (a.bool("keepdim")) throw new AssertionError(name + ": argmax over all dims with keepdim is not a fixture form");
                    yield x.argmax();
                }
                yield x.argmax(a.integer("dim"), a.bool("keepdim"));
            }
            case "logsumexp" -> x.logsumexp(a.integer("dim"), a.bool("keepdim"));
            case "softmax" -> x.softmax(a.integer("dim"));
            case "log_softmax" -> x.logSoftmax(a.integer("dim"));
            case "matmul" -> x.matmul(in.get(1));
            case "linear" -> x.linear(in.get(1), in.size() > 2 ? in.get(2) : null);
            case "transpose" -> x.transpose(a.integer("dim0"), a.integer("dim1"));
            case "permute" -> x.permute(a.ints("dims"));
            case "reshape" -> x.reshape(a.ints("shape"));
            case "narrow" -> x.narrow(a.integer("dim"), a.integer("start"), a.integer("length"));
            case "select" -> x.select(a.integer("dim"), a.integer("index"));
            case "cat" -> Tensor.cat(in, a.integer("dim"));
            case "stack" -> Tensor.stack(in, a.integer("dim"));
            case "expand" -> x.expand(a.ints("sizes"));
            case "tril" -> x.tril(a.integer("k"));
            case "triu" -> x.triu(a.integer("k"));
            case "index_select" -> x.indexSelect(a.integer("dim"), in.get(1));
            case "gather" -> x.gather(a.integer("dim"), in.get(1));
            case "scatter_add" -> x.scatterAdd(a.integer("dim"), in.get(1), in.get(2));
            case "embedding" -> Tensor.embedding(x, in.get(1));
            case "cross_entropy" -> Functional.crossEntropy(x, in.get(1), a.integer("ignore_index"),
                    a.dbl("label_smoothing"), a.reduction());
            case "nll_loss" -> Functional.nllLoss(x, in.get(1), a.integer("ignore_index"), a.reduction());
            case "mse_loss" -> Functional.mseLoss(x, in.get(1), a.reduction());
            case "l1_loss" -> Functional.l1Loss(x, in.get(1), a.reduction());
            case "binary_cross_entropy_with_logits" -> Functional.binaryCrossEntropyWithLogits(x, in.get(1), null, a.reduction());
            case "layer_norm" -> Functional.layerNorm(x, a.ints("normalized_shape"), in.get(1), in.get(2), a.dbl("eps"));
            case "rms_norm" -> Functional.rmsNorm(x, in.get(1), a.dbl("eps"));
            case "sdpa" -> Functional.scaledDotProductAttention(x, in.get(1), in.get(2), in.size() > 3 ? in.get(3) : null,
                    a.bool("causal"));
            case "mlp2" -> Functional.crossEntropy(x.linear(in.get(2), in.get(3)).relu().linear(in.get(4), in.get(5)), in.get(1));
            default -> throw new AssertionError(name + ": op '" + op + "' is not mapped to Kindling in GoldenFixturesTest");
        };
    }

    /** The "args" object of a case's metadata, with typed getters that fail naming the case and key. */
    private record Args(String caseName, Map<String, Object> map) {
        private Object get(String key) {
            if (!map.containsKey(key)) throw new AssertionError(caseName + ": args has no '" + key + "' (args " + map + ")");
            return map.get(key);
        }

        boolean isNull(String key) {
            return get(key) == null;
        }

        double dbl(String key) {
            return ((Number) get(key)).doubleValue();
        }

        int integer(String key) {
            Object v = get(key);
            if (!(v instanceof Long l)) throw new AssertionError(caseName + ": args '" + key + "' = " + v + " is not an integer");
            return Math.toIntExact(l);
        }

        boolean bool(String key) {
            return (Boolean) get(key);
        }

        String str(String key) {
            return (String) get(key);
        }

        int[] ints(String key) {
            List<?> list = (List<?>) get(key);
            return list.stream().mapToInt(v -> Math.toIntExact((Long) v)).toArray();
        }

        int[] intsOrNull(String key) {
            return isNull(key) ? null : ints(key);
        }

        Reduction reduction() {
            return Reduction.valueOf(str("reduction").toUpperCase(Locale.ROOT));
        }
    }

    private static Tensor copy(Tensor t) {
        return t.dtype() == DType.INT64 ? Tensor.fromLongs(t.toLongArray(), t.shape()) : Tensor.fromArray(t.toFloatArray(), t.shape());
    }

    /** Same shape and dtype; INT64 equal, floats within ATOL + RTOL * |expected| (NaN/inf must match exactly). */
    static void assertClose(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        if (expected.dtype() == DType.INT64) {
            assertEquals(DType.INT64, actual.dtype(), what + ": dtype");
            assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what);
            return;
        }
        assertEquals(DType.FLOAT32, actual.dtype(), what + ": dtype");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = Float.isFinite(e[i]) ? Math.abs((double) a[i] - e[i]) <= ATOL + RTOL * Math.abs(e[i]) : Float.compare(a[i], e[i]) == 0;
            if (!ok)
                fail(what + ": element " + i + " of shape " + Arrays.toString(expected.shape()) + " is " + a[i] + ", PyTorch has " + e[i]
                        + " (difference " + Math.abs((double) a[i] - e[i]) + ")");
        }
    }
}
