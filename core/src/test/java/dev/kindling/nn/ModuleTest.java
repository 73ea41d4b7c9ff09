package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest {
    /** A layer with a buffer, like batch norm's running statistics. */
    static final class Scale extends Module {
        final Tensor gain;

        Scale(int n) {
            gain = registerParameter("gain", Tensor.ones(n));
            registerBuffer("running_mean", Tensor.zeros(n));
        }

        @Override
        public Tensor forward(Tensor x) {
            return x.mul(gain);
        }
    }

    /** The seed's SimpleNN plus a nested block, to get names two and three levels deep. */
    static final class Net extends Module {
        final Linear layer1, layer2;
        final Sequential block;

        Net(Generator g) {
            layer1 = register("layer1", new Linear(4, 3, true, g));
            block = register("block", new Sequential(new Scale(3), new ReLU(), new Dropout(0.5, g)));
            layer2 = register("layer2", new Linear(3, 2, false, g));
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer2.forward(block.forward(layer1.forward(x)));
        }
    }

    private static Map<String, Tensor> copyOf(Map<String, Tensor> sd) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        sd.forEach((k, v) -> out.put(k, Tensor.fromArray(v.toFloatArray(), v.shape())));
        return out;
    }

    private static Map<String, float[]> values(Module m) {
        Map<String, float[]> out = new HashMap<>();
        m.stateDict().forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    private static void assertSameValues(Map<String, float[]> want, Module m) {
        Map<String, float[]> got = values(m);
        assertEquals(want.keySet(), got.keySet());
        for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), 0f, k);
    }

    @Test
    void namedParametersHaveDottedNamesInRegistrationOrder() {
        Net net = new Net(new Generator(1));
        assertEquals(List.of("layer1.weight", "layer1.bias", "block.0.gain", "layer2.weight"), new ArrayList<>(net.namedParameters().keySet()));
        List<Tensor> ps = net.parameters();
        assertEquals(4, ps.size());
        assertSame(net.layer1.weight, ps.get(0));
        assertSame(net.layer2.weight, ps.get(3));
        for (Tensor p : ps) assertTrue(p.requiresGrad());
        assertEquals(4 * 3 + 3 + 3 + 3 * 2, net.parameterCount());
        assertEquals(List.of("", "layer1", "block", "block.0", "block.1", "block.2", "layer2"), new ArrayList<>(net.namedModules().keySet()));
        assertEquals(List.of("layer1", "block", "layer2"), new ArrayList<>(net.children().keySet()));
    }

    @Test
    void stateDictHoldsParametersAndBuffersAsLiveTensors() {
        Net net = new Net(new Generator(1));
        Map<String, Tensor> sd = net.stateDict();
        assertEquals(List.of("layer1.weight", "layer1.bias", "block.0.gain", "block.0.running_mean", "layer2.weight"), new ArrayList<>(sd.keySet()));
        assertFalse(net.namedParameters().containsKey("block.0.running_mean"), "a buffer is not a parameter");
        assertFalse(sd.get("block.0.running_mean").requiresGrad());
        assertSame(net.layer1.weight, sd.get("layer1.weight"));
    }

    @Test
    void loadStateDictCopiesEveryValueIncludingBuffers() {
        Net a = new Net(new Generator(1)), b = new Net(new Generator(2));
        Map<String, Tensor> src = copyOf(a.stateDict());
        src.put("block.0.running_mean", Tensor.fromArray(new float[] {1, 2, 3}, 3));
        b.loadStateDict(src);
        assertArrayEquals(a.layer1.weight.toFloatArray(), b.layer1.weight.toFloatArray(), 0f);
        assertArrayEquals(new float[] {1, 2, 3}, b.stateDict().get("block.0.running_mean").toFloatArray(), 0f);
        // copied, not aliased: changing the source later leaves the model alone
        src.get("layer1.bias").floatData()[0] = 99;
        assertTrue(b.layer1.bias.get(0) != 99);
        assertSame(b.layer1.weight, b.namedParameters().get("layer1.weight"), "parameters keep their identity (optimizers hold them)");
    }

    @Test
    void strictLoadReportsEveryProblemInOneMessageAndChangesNothing() {
        Net net = new Net(new Generator(1));
        Map<String, float[]> before = values(net);
        Map<String, Tensor> bad = copyOf(new Net(new Generator(2)).stateDict());
        bad.remove("layer1.bias");
        bad.remove("block.0.running_mean");
        bad.put("layer3.weight", Tensor.zeros(2, 2));
        bad.put("layer2.weight", Tensor.zeros(3, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(bad));
        String msg = e.getMessage();
        assertTrue(msg.contains("missing keys: [layer1.bias, block.0.running_mean]"), msg);
        assertTrue(msg.contains("unexpected keys: [layer3.weight]"), msg);
        assertTrue(msg.contains("layer2.weight: checkpoint [3, 2] vs model [2, 3]"), msg);
        assertSameValues(before, net);
    }

    @Test
    void nonStrictLoadSkipsMissingAndUnexpectedKeysButNotShapeMismatches() {
        Net net = new Net(new Generator(1));
        Net other = new Net(new Generator(2));
        Map<String, Tensor> partial = copyOf(other.stateDict());
        partial.remove("layer2.weight");
        partial.put("head.weight", Tensor.zeros(5));
        float[] layer2Before = net.layer2.weight.toFloatArray();
        net.loadStateDict(partial, false);
        assertArrayEquals(other.layer1.weight.toFloatArray(), net.layer1.weight.toFloatArray(), 0f);
        assertArrayEquals(layer2Before, net.layer2.weight.toFloatArray(), 0f, "a missing key leaves the tensor as it was");

        Map<String, float[]> before = values(net);
        Map<String, Tensor> mismatched = copyOf(other.stateDict());
        mismatched.put("layer1.bias", Tensor.zeros(4));
        var e = assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(mismatched, false));
        assertTrue(e.getMessage().contains("layer1.bias: checkpoint [4] vs model [3]"), e.getMessage());
        assertSameValues(before, net);
    }

    @Test
    void trainAndEvalReachEveryDescendant() {
        Net net = new Net(new Generator(1));
        for (Module m : net.namedModules().values()) assertTrue(m.isTraining());
        assertSame(net, net.eval());
        for (var e : net.namedModules().entrySet()) assertFalse(e.getValue().isTraining(), e.getKey());
        net.train();
        for (var e : net.namedModules().entrySet()) assertTrue(e.getValue().isTraining(), e.getKey());
        net.block.train(false);
        assertTrue(net.isTraining());
        assertFalse(net.block.get(2).isTraining());

        // eval turns dropout into the identity: two forwards agree; in training they differ
        Tensor x = Tensor.randn(new Generator(3), 8, 4);
        net.eval();
        assertArrayEquals(net.forward(x).toFloatArray(), net.forward(x).toFloatArray(), 0f);
        net.train();
        assertFalse(java.util.Arrays.equals(net.forward(x).toFloatArray(), net.forward(x).toFloatArray()));
    }

    @Test
    void zeroGradDropsEveryGradient() {
        Net net = new Net(new Generator(1));
        net.eval();
        net.forward(Tensor.randn(new Generator(3), 5, 4)).sum().backward();
        for (var e : net.namedParameters().entrySet()) assertNotNull(e.getValue().grad(), e.getKey());
        net.zeroGrad();
        for (var e : net.namedParameters().entrySet()) assertNull(e.getValue().grad(), e.getKey());
    }

    @Test
    void badNamesAreRejected() {
        class Bad extends Module {
            @Override public Tensor forward(Tensor x) { return x; }
        }
        Bad m = new Bad();
        assertThrows(IllegalArgumentException.class, () -> m.registerParameter("a.b", Tensor.zeros(1)));
        assertThrows(IllegalArgumentException.class, () -> m.registerParameter("", Tensor.zeros(1)));
        m.registerParameter("w", Tensor.zeros(1));
        var e = assertThrows(IllegalArgumentException.class, () -> m.register("w", new ReLU()));
        assertTrue(e.getMessage().contains("'w' is already registered"), e.getMessage());
        assertNull(m.registerParameter("absent", null), "a null parameter (bias=false) registers nothing");
        assertFalse(m.stateDict().containsKey("absent"));
    }

    @Test
    void toStringShowsTheTreeAndHyperparameters() {
        String s = new Net(new Generator(1)).toString();
        assertTrue(s.contains("(layer1): Linear(in_features=4, out_features=3, bias=true)"), s);
        assertTrue(s.contains("(layer2): Linear(in_features=3, out_features=2, bias=false)"), s);
        assertTrue(s.contains("(2): Dropout(p=0.5)"), s);
    }
}
