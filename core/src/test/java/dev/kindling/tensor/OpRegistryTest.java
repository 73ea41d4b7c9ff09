package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kindling.autograd.GradCheck;
import dev.kindling.tensor.OpRegistry.Arg;
import dev.kindling.tensor.OpRegistry.BadInput;
import dev.kindling.tensor.OpRegistry.Layout;
import dev.kindling.tensor.OpRegistry.OpInfo;
import dev.kindling.tensor.OpRegistry.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The generic checks, run over every op and sample in {@link OpRegistry}. */
class OpRegistryTest {

    static Stream<Arguments> allSamples() {
        return OpRegistry.OPS.stream().flatMap(op -> IntStream.range(0, op.samples().size())
                .mapToObj(i -> Arguments.of(op.name() + " #" + i + " (" + op.samples().get(i) + ")", op, i)));
    }

    static Stream<Arguments> gradientSamples() {
        return allSamples().filter(a -> {
            OpInfo op = (OpInfo) a.get()[1];
            return op.grad() && op.samples().get((int) a.get()[2]).args().stream().anyMatch(Arg::generated);
        });
    }

    static Stream<Arguments> nonContiguousSamples() {
        return allSamples().filter(a -> ((OpInfo) a.get()[1]).samples().get((int) a.get()[2]).hasNonContiguousArg());
    }

    static Stream<Arguments> badInputs() {
        return OpRegistry.OPS.stream().flatMap(op -> IntStream.range(0, op.bad().size())
                .mapToObj(i -> Arguments.of(op.name() + " bad #" + i + " (" + op.bad().get(i) + ")", op, i)));
    }

    /** (a) analytic gradients of every differentiable input match central differences in double. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gradientSamples")
    void gradientMatchesFiniteDifferences(String label, OpInfo op, int index) {
        Sample sample = op.samples().get(index);
        List<Tensor> leaves = op.leaves(sample, index);
        List<Tensor> inputs = new ArrayList<>();
        boolean[] wrt = new boolean[leaves.size()];
        for (int k = 0; k < leaves.size(); k++) {
            wrt[k] = leaves.get(k) != null;
            inputs.add(wrt[k] ? leaves.get(k) : sample.args().get(k).fixed());
        }
        var options = new GradCheck.Options(op.eps(), op.atol(), op.rtol(), index);
        GradCheck.check(label, in -> op.fn().apply(OpInfo.inputs(sample, in)), inputs, wrt, options);
    }

    /** (b) the op on strided views gives what it gives on contiguous copies of the same values. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("nonContiguousSamples")
    void nonContiguousInputsGiveTheSameResult(String label, OpInfo op, int index) {
        Sample sample = op.samples().get(index);
        List<Tensor> views = OpInfo.inputs(sample, op.leaves(sample, index));
        for (int k = 0; k < views.size(); k++) {
            Arg a = sample.args().get(k);
            if (a.generated() && stridesMatter(a))
                assertFalse(views.get(k).isContiguous(), label + ": input " + k + " should be a non-contiguous view");
        }
        List<Tensor> copies = views.stream().map(OpRegistryTest::contiguousCopy).toList();
        Tensor expected = op.fn().apply(copies);
        Tensor actual = op.fn().apply(views);
        assertEquals(expected.dtype(), actual.dtype(), label);
        assertArrayEquals(expected.shape(), actual.shape(), label);
        if (expected.dtype().isFloatingPoint()) assertClose(label, expected.toFloatArray(), actual.toFloatArray(), 1e-6, 1e-6);
        else assertArrayEquals(expected.toLongArray(), actual.toLongArray(), label);
    }

    /** (c) mismatched shapes and out-of-range dims are rejected with a message that names the op and the values. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void badInputIsRejectedWithAClearMessage(String label, OpInfo op, int index) {
        BadInput bad = op.bad().get(index);
        RuntimeException e = assertThrows(bad.exception(), () -> bad.call().apply(bad.inputs()), label);
        String msg = e.getMessage();
        assertTrue(msg != null && msg.contains(op.api()), label + ": message should name '" + op.api() + "': " + msg);
        for (String part : bad.messageParts())
            assertTrue(msg.contains(part), label + ": message should contain '" + part + "': " + msg);
    }

    /** Every sample runs, and twice gives the same result (ops are deterministic, inputs untouched). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("allSamples")
    void everySampleRunsDeterministically(String label, OpInfo op, int index) {
        Sample sample = op.samples().get(index);
        List<Tensor> inputs = OpInfo.inputs(sample, op.leaves(sample, index));
        List<float[]> before = inputs.stream().map(Tensor::toFloatArray).toList();
        Tensor first = op.fn().apply(inputs);
        Tensor second = op.fn().apply(inputs);
        assertArrayEquals(first.toFloatArray(), second.toFloatArray(), label);
        for (int k = 0; k < inputs.size(); k++)
            assertArrayEquals(before.get(k), inputs.get(k).toFloatArray(), label + ": input " + k + " was modified");
    }

    /** An op that takes two tensors or a dim must say how it rejects bad input. */
    @Test
    void everyMultiInputOpHasBadInputCases() {
        List<String> apis = OpRegistry.OPS.stream().filter(op -> !op.bad().isEmpty()).map(OpInfo::api).distinct().toList();
        List<String> missing = OpRegistry.OPS.stream()
                .filter(op -> op.samples().get(0).args().size() > 1 && !apis.contains(op.api()))
                .map(OpInfo::name).toList();
        assertEquals(List.of(), missing, "ops with several inputs but no bad-input case");
    }

    /** The registry covers the size-0, size-1, broadcasting and non-contiguous cases it promises. */
    @Test
    void registryCoversTheShapeFamilies() {
        assertTrue(OpRegistry.OPS.size() > 100, "ops registered: " + OpRegistry.OPS.size());
        for (Layout l : Layout.values())
            assertTrue(OpRegistry.OPS.stream().flatMap(o -> o.samples().stream()).flatMap(s -> s.args().stream())
                    .filter(Arg::generated).anyMatch(a -> a.layout() == l), "no sample uses layout " + l);
        assertTrue(OpRegistry.OPS.stream().flatMap(o -> o.samples().stream()).flatMap(s -> s.args().stream())
                .anyMatch(a -> Arrays.stream(a.shape()).anyMatch(d -> d == 0)), "no size-0 sample");
    }

    /** Whether the arg's layout gives a non-contiguous view (a transposed or strided size-1 dim does not). */
    static boolean stridesMatter(Arg a) {
        int[] s = a.shape();
        int r = s.length;
        if (Arrays.stream(s).anyMatch(d -> d == 0)) return false;
        return switch (a.layout()) {
            case CONTIGUOUS -> false;
            case TRANSPOSED -> s[r - 1] > 1 && s[r - 2] > 1;
            case STRIDED -> s[r - 1] > 1;
            case EXPANDED -> true;
        };
    }

    static Tensor contiguousCopy(Tensor t) {
        Tensor c = Storage.convert(t, t.dtype());
        assertTrue(c.isContiguous());
        return c;
    }

    static void assertClose(String label, float[] expected, float[] actual, double rtol, double atol) {
        assertEquals(expected.length, actual.length, label + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) && Float.isNaN(a)) continue;
            if (e == a) continue;
            if (!(Math.abs(e - a) <= atol + rtol * Math.abs(e)))
                fail(label + ": element " + i + " expected " + e + " but was " + a + "\nexpected " + Arrays.toString(expected)
                        + "\nactual   " + Arrays.toString(actual));
        }
    }
}
