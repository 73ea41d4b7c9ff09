package dev.kindling.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph compiled for running: each node bound to an {@link Op}, every value given a slot, types inferred from the
 * declared inputs and the initializers through every node, nodes whose inputs are all constant folded at load,
 * and each intermediate value dropped after its last use. Any op or element type the runtime cannot run fails here,
 * at load, with the op and node named.
 */
final class Graph {
    final List<String> inputNames = new ArrayList<>(), outputNames = new ArrayList<>();
    final Map<String, Op.Type> inputTypes = new HashMap<>();
    final Map<String, int[]> initializerShapes = new HashMap<>();
    private final Map<String, Integer> slotOf = new HashMap<>();
    private final Value[] constants; // per slot
    private final List<Step> steps = new ArrayList<>();
    private final int slots;
    private final int[] outputSlots;

    private record Step(String label, Op op, int[] in, int[] out, int[] free) {}

    Graph(Proto.Model model, boolean fuse) {
        Proto.Graph g = fuse ? Fusion.apply(model.graph(), model.opset()) : model.graph();
        long opset = model.opset();
        Map<String, Op.Type> types = new HashMap<>();
        List<Value> consts = new ArrayList<>();
        for (var e : g.initializers().entrySet()) {
            initializerShapes.put(e.getKey(), e.getValue().shape);
            slot(e.getKey(), consts);
            consts.set(slotOf.get(e.getKey()), e.getValue());
            types.put(e.getKey(), Op.Type.of(e.getValue()));
        }
        for (Proto.ValueInfo vi : g.inputs()) {
            if (g.initializers().containsKey(vi.name())) continue; // an initializer with a default value: treated as constant
            if (!vi.isTensor()) throw new UnsupportedOperationException("onnx: graph input '" + vi.name() + "' is not a tensor (sequences, maps and optionals are not supported)");
            if (vi.type() == null) throw new UnsupportedOperationException("onnx: graph input '" + vi.name() + "' has an unsupported or missing element type");
            inputNames.add(vi.name());
            Op.Type t = new Op.Type(vi.type(), vi.dims());
            inputTypes.put(vi.name(), t);
            types.put(vi.name(), t);
            slot(vi.name(), consts);
        }
        List<int[]> uses = new ArrayList<>();
        List<Step> pending = new ArrayList<>();
        for (int i = 0; i < g.nodes().size(); i++) {
            Proto.Node pn = g.nodes().get(i);
            String label = pn.label(i);
            int nin = pn.inputs().size();
            Op.Type[] inTypes = new Op.Type[nin];
            Value[] inConsts = new Value[nin];
            int[] in = new int[nin];
            boolean allConst = true;
            for (int j = 0; j < nin; j++) {
                String name = pn.inputs().get(j);
                if (name.isEmpty()) {
                    in[j] = -1;
                    continue;
                }
                Integer s = slotOf.get(name);
                if (s == null) throw new IllegalArgumentException("onnx: " + label + " reads '" + name + "', which no graph input, initializer or earlier node defines");
                in[j] = s;
                inTypes[j] = types.get(name);
                inConsts[j] = consts.get(s);
                allConst &= inConsts[j] != null;
            }
            // trailing omitted inputs are dropped, so ops see how many were given
            int given = nin;
            while (given > 0 && in[given - 1] < 0) given--;
            Node node = new Node(pn, i, opset, Arrays.copyOf(inTypes, given), Arrays.copyOf(inConsts, given));
            Op.Compiled c = compile(node);
            int[] out = new int[pn.outputs().size()];
            Value[] folded = null;
            if (allConst && !pn.opType().equals("Constant") || pn.opType().equals("Constant")) {
                Value[] args = Arrays.copyOf(inConsts, given);
                folded = c.op().run(args);
            }
            for (int j = 0; j < out.length; j++) {
                String name = pn.outputs().get(j);
                if (name.isEmpty()) {
                    out[j] = -1;
                    continue;
                }
                out[j] = slot(name, consts);
                Op.Type t = j < c.out().length ? c.out()[j] : null;
                if (folded != null && j < folded.length && folded[j] != null) {
                    consts.set(out[j], folded[j]);
                    t = Op.Type.of(folded[j]);
                }
                types.put(name, t);
            }
            if (folded == null) {
                int[] runIn = Arrays.copyOf(in, given);
                for (int j : c.loadOnly()) if (j < given) runIn[j] = -1;
                pending.add(new Step(label, c.op(), runIn, out, null));
            }
        }
        for (Proto.ValueInfo vi : g.outputs()) {
            if (!slotOf.containsKey(vi.name())) throw new IllegalArgumentException("onnx: graph output '" + vi.name() + "' is not produced by any node");
            outputNames.add(vi.name());
        }
        slots = consts.size();
        constants = consts.toArray(new Value[0]);
        outputSlots = outputNames.stream().mapToInt(slotOf::get).toArray();
        // last use of each non-constant slot, so its value can be dropped after that step
        int[] last = new int[slots];
        Arrays.fill(last, -1);
        for (int s = 0; s < pending.size(); s++) for (int x : pending.get(s).in()) if (x >= 0) last[x] = s;
        Set<Integer> keep = new HashSet<>();
        for (int x : outputSlots) keep.add(x);
        for (int s = 0; s < pending.size(); s++) {
            Step st = pending.get(s);
            List<Integer> free = new ArrayList<>();
            for (int x : st.in()) if (x >= 0 && last[x] == s && constants[x] == null && !keep.contains(x) && !free.contains(x)) free.add(x);
            steps.add(new Step(st.label(), st.op(), st.in(), st.out(), free.stream().mapToInt(Integer::intValue).toArray()));
        }
        // Constants that no step reads and no output is: weights that fused ops packed at load (Op.Compiled.loadOnly)
        // and the inputs of folded nodes. Holding them kept an int8 MiniLM's codes as longs next to its packed layers.
        for (int x = 0; x < slots; x++) if (last[x] < 0 && !keep.contains(x)) constants[x] = null;
    }

    private int slot(String name, List<Value> consts) {
        return slotOf.computeIfAbsent(name, k -> {
            consts.add(null);
            return consts.size() - 1;
        });
    }

    private static Op.Compiled compile(Node n) {
        String domain = n.proto.domain();
        Op.Compiled c = null;
        if (domain.isEmpty() || domain.equals("ai.onnx")) {
            c = ElementwiseOps.compile(n);
            if (c == null) c = ShapeOps.compile(n);
            if (c == null) c = MathOps.compile(n);
            if (c == null) c = QuantOps.compile(n);
        } else if (domain.equals(Fusion.DOMAIN)) {
            c = FusedOps.compile(n);
        }
        if (c == null)
            throw new UnsupportedOperationException("onnx: op " + (domain.isEmpty() ? "" : domain + ".") + n.op() + " (node " + n.label() + ") is not supported");
        return c;
    }

    /** The names of the constants this graph holds for its steps (weights that ops packed at load are not). */
    Set<String> heldConstants() {
        Set<String> held = new HashSet<>();
        for (var e : slotOf.entrySet()) if (constants[e.getValue()] != null) held.add(e.getKey());
        return held;
    }

    /** The labels of the steps that run (after fusion and folding), in order. */
    List<String> stepLabels() {
        return steps.stream().map(Step::label).toList();
    }

    /** Runs the graph on values for every input name; returns the outputs in {@link #outputNames} order. */
    Value[] run(Map<String, Value> inputs) {
        Value[] slot = constants.clone();
        for (String name : inputNames) {
            Value v = inputs.get(name);
            if (v == null) throw new IllegalArgumentException("onnx: input '" + name + "' is missing (inputs: " + inputNames + ")");
            Op.Type t = inputTypes.get(name);
            if (v.type != t.dtype()) throw new IllegalArgumentException("onnx: input '" + name + "' must be " + t.dtype() + ", got " + v.type);
            int[] dims = t.dims();
            if (dims != null) {
                boolean ok = dims.length == v.rank();
                for (int i = 0; ok && i < dims.length; i++) ok = dims[i] < 0 || dims[i] == v.shape[i];
                if (!ok) throw new IllegalArgumentException("onnx: input '" + name + "' has shape " + Arrays.toString(v.shape) + " but the model declares " + Arrays.toString(dims) + " (-1: any)");
            }
            slot[slotOf.get(name)] = v;
        }
        for (String name : inputs.keySet())
            if (!inputTypes.containsKey(name)) throw new IllegalArgumentException("onnx: '" + name + "' is not an input of the model (inputs: " + inputNames + ")");
        List<float[]> callerArrays = new ArrayList<>();
        for (Value v : inputs.values()) if (v.f != null) callerArrays.add(v.f);
        for (Step st : steps) {
            Value[] args = new Value[st.in().length];
            for (int j = 0; j < args.length; j++) args[j] = st.in()[j] < 0 ? null : slot[st.in()[j]];
            Value[] res;
            try {
                res = st.op() instanceof Op.Consuming c && consumable(st, args, slot, callerArrays) ? c.runConsuming(args) : st.op().run(args);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("onnx: ")) throw e;
                throw new IllegalArgumentException("onnx: " + st.label() + ": " + e.getMessage(), e);
            }
            for (int j = 0; j < st.out().length && j < res.length; j++) if (st.out()[j] >= 0) slot[st.out()[j]] = res[j];
            for (int x : st.free()) slot[x] = null;
        }
        Value[] out = new Value[outputSlots.length];
        for (int i = 0; i < out.length; i++) out[i] = slot[outputSlots[i]];
        return out;
    }

    /**
     * Whether step st may overwrite its first input's array (see {@link Op.Consuming}): the input's slot dies at this
     * step (never a constant or a graph output: see the free lists) and no live slot, other input of the step or
     * caller's input array holds the same array.
     */
    private static boolean consumable(Step st, Value[] args, Value[] slot, List<float[]> callerArrays) {
        if (args.length == 0 || args[0] == null || args[0].f == null) return false;
        int x = st.in()[0];
        float[] array = args[0].f;
        boolean dies = false;
        for (int s : st.free()) dies |= s == x;
        if (!dies) return false;
        for (int j = 1; j < args.length; j++) if (args[j] != null && args[j].f == array) return false;
        for (int k = 0; k < slot.length; k++) if (k != x && slot[k] != null && slot[k].f == array) return false;
        for (float[] c : callerArrays) if (c == array) return false;
        return true;
    }
}
