package dev.kindling.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Graph rewrites applied before compiling, each replacing a subgraph that exporters write out op by op with one
 * node of the {@value #DOMAIN} domain that runs on a fused kernel ({@link FusedOps}):
 * <ul>
 *   <li>Attention: MatMul(Transpose(Q), Transpose(K)) / c (+ mask) → Softmax → MatMul(·, Transpose(V)) → Transpose,
 *       with Q, K, V [B, T, H, D] → {@code Attention}: scores, mask and softmax per (batch, head) in cache, no
 *       transposed copies;</li>
 *   <li>LayerNorm: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul γ, Add β over the last axis →
 *       {@code LayerNormalization};</li>
 *   <li>GELU: x * 0.5 * (1 + erf(x / √2)) in either order of the two Muls → {@code Gelu};</li>
 *   <li>Linear: MatMul(X, W) + b with W a 2-D FLOAT initializer and b a 1-D one → {@code Linear} (bias written into
 *       the GEMM's output, so no second pass);</li>
 *   <li>MatMulInteger (B constant) → Cast to FLOAT (→ Mul by the scales → Add a constant bias) →
 *       {@code MatMulIntegerToFloat}, with B's zero point subtracted once at load and the scale and bias applied
 *       by the GEMM (alpha, and rows pre-filled with the bias).</li>
 *   <li>DequantizeLinear (one scale) of a Gather from a constant int8 table → {@code GatherDequantized} (quantized
 *       embeddings: the picked rows dequantized in one pass);</li>
 *   <li>DynamicQuantizeLinear whose codes and zero point only MatMulIntegerToFloat nodes read →
 *       {@code DynamicQuantizeShifted}: the codes minus the zero point as floats, the form the GEMM multiplies, so
 *       no integer tensor is written and converted again by each reader;</li>
 *   <li>Linears sharing their input (query, key and value) → one {@code LinearGroup}: one GEMM on the weights side by
 *       side, which a batch of a few tokens can split over the threads where three small ones could not.</li>
 *   <li>A whole BERT encoder layer after the fusions above — LinearGroup(Q, K, V) → Reshapes → Attention → Reshape →
 *       Linear → Add residual → LayerNorm → Linear → Gelu → Linear → Add residual → LayerNorm → {@code EncoderLayer},
 *       the kernel {@code BertModel} runs ({@link dev.kindling.kernels.EncoderLayer}): one node instead of a dozen
 *       each allocating its output, activations in buffers reused across layers; the shape subgraphs that only fed
 *       the removed Reshapes are dropped.</li>
 *   <li>The same layer as a dynamically quantized export writes it, each projection a DynamicQuantizeShifted of its
 *       input (one shared by query, key and value, as the export shares its DynamicQuantizeLinear), a Mul of the
 *       input's and the weight's scales and a MatMulIntegerToFloat → {@code QuantizedEncoderLayer}, the same kernel
 *       on {@link dev.kindling.kernels.EncoderLayer.Projection#dynamicQuantized} projections, which quantize each
 *       input over the whole tensor as the export does. A graph that differs anywhere keeps its op-by-op steps.</li>
 * </ul>
 * A pattern is only replaced when its inner values have no other consumers and are not graph outputs; the fused
 * node takes the place of the pattern's last node and keeps its output names.
 */
final class Fusion {
    static final String DOMAIN = "dev.kindling";

    private final List<Proto.Node> nodes;
    private final boolean[] removed;
    private final Map<String, Integer> producer = new HashMap<>();
    private final Map<String, List<Integer>> consumers = new HashMap<>();
    private final Set<String> outputs = new HashSet<>();
    private final Map<String, Value> constants = new HashMap<>();

    private Fusion(Proto.Graph g) {
        nodes = new ArrayList<>(g.nodes());
        removed = new boolean[nodes.size()];
        constants.putAll(g.initializers());
        for (Proto.ValueInfo o : g.outputs()) outputs.add(o.name());
        for (int i = 0; i < nodes.size(); i++) {
            Proto.Node n = nodes.get(i);
            for (String o : n.outputs()) producer.put(o, i);
            for (String in : n.inputs()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            if (n.opType().equals("Constant") && n.attributes().containsKey("value") && n.outputs().size() == 1)
                constants.put(n.outputs().get(0), n.attributes().get("value").t());
        }
    }

    static Proto.Graph apply(Proto.Graph g, long opset) {
        Fusion f = new Fusion(g);
        for (int i = 0; i < f.nodes.size(); i++) {
            if (f.removed[i]) continue;
            switch (f.nodes.get(i).opType()) {
                case "Softmax" -> f.attention(i);
                case "ReduceMean" -> f.layerNorm(i, opset);
                case "Erf" -> f.gelu(i);
                case "MatMulInteger" -> f.matmulInteger(i);
                case "DequantizeLinear" -> f.gatherDequantized(i);
                default -> { }
            }
        }
        for (int i = 0; i < f.nodes.size(); i++) if (!f.removed[i] && f.nodes.get(i).opType().equals("MatMul")) f.linear(i);
        f.groupLinears();
        for (int i = 0; i < f.nodes.size(); i++)
            if (!f.removed[i] && f.nodes.get(i).opType().equals("DynamicQuantizeLinear") && f.nodes.get(i).domain().isEmpty()) f.shiftedQuantize(i);
        boolean layers = false;
        f.relink();
        for (int i = 0; i < f.nodes.size(); i++)
            if (!f.removed[i] && f.isFused(f.nodes.get(i), "LinearGroup")) layers |= f.encoderLayer(i);
        for (int i = 0; i < f.nodes.size(); i++)
            if (!f.removed[i] && f.isFused(f.nodes.get(i), "DynamicQuantizeShifted")) layers |= f.quantizedEncoderLayer(i);
        if (layers) f.dropDeadNodes();
        List<Proto.Node> kept = new ArrayList<>();
        for (int i = 0; i < f.nodes.size(); i++) if (!f.removed[i]) kept.add(f.nodes.get(i));
        return new Proto.Graph(g.name(), kept, g.initializers(), g.inputs(), g.outputs());
    }

    // ------------------------------------------------------------------ helpers

    private Proto.Node producerOf(String value, String op) {
        Integer p = producer.get(value);
        if (p == null || removed[p]) return null;
        Proto.Node n = nodes.get(p);
        return n.opType().equals(op) && n.domain().isEmpty() ? n : null;
    }

    /** The only consumer of {@code value} if it is an {@code op} node and the value is internal. */
    private Proto.Node soleConsumer(String value, String op) {
        List<Integer> c = consumers.getOrDefault(value, List.of());
        if (c.size() != 1 || outputs.contains(value) || removed[c.get(0)]) return null;
        Proto.Node n = nodes.get(c.get(0));
        return n.opType().equals(op) && n.domain().isEmpty() ? n : null;
    }

    private boolean internal(String value, int uses) {
        return !outputs.contains(value) && consumers.getOrDefault(value, List.of()).size() == uses;
    }

    /** The scalar constant value of {@code name}, or NaN if it is not a one-element float constant. */
    private double scalar(String name) {
        Value v = constants.get(name);
        if (v == null || v.numel() != 1 || !(v.type == DataType.FLOAT || v.type == DataType.DOUBLE)) return Double.NaN;
        return v.getDouble(0);
    }

    private static long[] perm(Proto.Node transpose) {
        Proto.Attribute a = transpose.attributes().get("perm");
        return a == null ? null : a.ints();
    }

    /** The other input of a two-input node, given one of them. */
    private static String other(Proto.Node n, String one) {
        if (n.inputs().size() != 2) return null;
        return n.inputs().get(0).equals(one) ? n.inputs().get(1) : n.inputs().get(1).equals(one) ? n.inputs().get(0) : null;
    }

    private void replace(List<Proto.Node> pattern, Proto.Node fused) {
        int last = -1;
        for (Proto.Node n : pattern) last = Math.max(last, nodes.indexOf(n));
        for (Proto.Node n : pattern) removed[nodes.indexOf(n)] = true;
        nodes.set(last, fused);
        removed[last] = false;
        for (String o : fused.outputs()) producer.put(o, last);
    }

    private static Proto.Node node(String name, String op, List<String> in, List<String> out, Map<String, Proto.Attribute> attrs) {
        return new Proto.Node(name, op, DOMAIN, in, out, attrs);
    }

    private static Proto.Attribute floatAttr(String name, float v) {
        return new Proto.Attribute(name, Proto.Attribute.FLOAT, v, 0, null, null, new float[0], new long[0], List.of());
    }

    private boolean isFused(Proto.Node n, String op) {
        return n.opType().equals(op) && n.domain().equals(DOMAIN);
    }

    /** The only consumer of internal {@code value} if it is a fused {@code op} node. */
    private Proto.Node soleFusedConsumer(String value, String op) {
        List<Integer> c = consumers.getOrDefault(value, List.of());
        if (c.size() != 1 || outputs.contains(value) || removed[c.get(0)]) return null;
        Proto.Node n = nodes.get(c.get(0));
        return isFused(n, op) ? n : null;
    }

    /** Recomputes producers and consumers from the remaining nodes (the passes above leave them stale). */
    private void relink() {
        producer.clear();
        consumers.clear();
        for (int i = 0; i < nodes.size(); i++) {
            if (removed[i]) continue;
            Proto.Node n = nodes.get(i);
            for (String o : n.outputs()) producer.put(o, i);
            for (String in : n.inputs()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
        }
    }

    /** Removes nodes none of whose outputs is read by a remaining node or is a graph output, until none is left. */
    private void dropDeadNodes() {
        for (boolean changed = true; changed; ) {
            changed = false;
            Set<String> used = new HashSet<>(outputs);
            for (int i = 0; i < nodes.size(); i++) if (!removed[i]) used.addAll(nodes.get(i).inputs());
            for (int i = 0; i < nodes.size(); i++) {
                if (removed[i] || nodes.get(i).outputs().stream().anyMatch(used::contains)) continue;
                removed[i] = true;
                changed = true;
            }
        }
    }

    // ------------------------------------------------------------------ patterns

    private static final long[] HEADS_FIRST = {0, 2, 1, 3}, KEYS_TRANSPOSED = {0, 2, 3, 1};

    /** Softmax at index i, the centre of the attention pattern. */
    private void attention(int i) {
        Proto.Node softmax = nodes.get(i);
        Proto.Attribute axis = softmax.attributes().get("axis");
        if (axis != null && axis.i() != -1 && axis.i() != 3) return;
        String s = softmax.inputs().get(0);
        Proto.Node add = producerOf(s, "Add"), scaleNode;
        String mask = null, scaled = s;
        if (add != null && internal(s, 1)) {
            Proto.Node a0 = producerOf(add.inputs().get(0), "Div"), a0m = producerOf(add.inputs().get(0), "Mul");
            Proto.Node a1 = producerOf(add.inputs().get(1), "Div"), a1m = producerOf(add.inputs().get(1), "Mul");
            int which = a0 != null || a0m != null ? 0 : a1 != null || a1m != null ? 1 : -1;
            if (which < 0) return;
            scaled = add.inputs().get(which);
            mask = add.inputs().get(1 - which);
        } else add = null;
        scaleNode = producerOf(scaled, "Div");
        boolean divide = scaleNode != null;
        if (scaleNode == null) scaleNode = producerOf(scaled, "Mul");
        if (scaleNode == null || !internal(scaled, 1)) return;
        double c = scalar(scaleNode.inputs().get(1));
        if (Double.isNaN(c) || c == 0) return;
        float scale = (float) (divide ? 1 / c : c);
        String scores = scaleNode.inputs().get(0);
        Proto.Node qk = producerOf(scores, "MatMul");
        if (qk == null || !internal(scores, 1)) return;
        Proto.Node qt = producerOf(qk.inputs().get(0), "Transpose"), kt = producerOf(qk.inputs().get(1), "Transpose");
        if (qt == null || kt == null || !java.util.Arrays.equals(perm(qt), HEADS_FIRST) || !java.util.Arrays.equals(perm(kt), KEYS_TRANSPOSED)) return;
        Proto.Node pv = soleConsumer(softmax.outputs().get(0), "MatMul");
        if (pv == null || !pv.inputs().get(0).equals(softmax.outputs().get(0))) return;
        Proto.Node vt = producerOf(pv.inputs().get(1), "Transpose");
        if (vt == null || !java.util.Arrays.equals(perm(vt), HEADS_FIRST)) return;
        Proto.Node back = soleConsumer(pv.outputs().get(0), "Transpose");
        if (back == null || !java.util.Arrays.equals(perm(back), HEADS_FIRST)) return;
        List<Proto.Node> pattern = new ArrayList<>(List.of(qk, scaleNode, softmax, pv, back));
        if (add != null) pattern.add(add);
        // the transposes go too when nothing else reads them
        for (Proto.Node t : List.of(qt, kt, vt)) if (internal(t.outputs().get(0), 1)) pattern.add(t);
        List<String> in = new ArrayList<>(List.of(qt.inputs().get(0), kt.inputs().get(0), vt.inputs().get(0)));
        if (mask != null) in.add(mask);
        Map<String, Proto.Attribute> attrs = new LinkedHashMap<>();
        attrs.put("scale", floatAttr("scale", scale));
        replace(pattern, node(softmax.name() + "/fused_attention", "Attention", in, back.outputs(), attrs));
    }

    /** ReduceMean at index i, the start of the layer-norm pattern. */
    private void layerNorm(int i, long opset) {
        Proto.Node mean = nodes.get(i);
        if (!lastAxis(mean, opset)) return;
        String x = mean.inputs().get(0), m = mean.outputs().get(0);
        Proto.Node sub = soleConsumer(m, "Sub");
        if (sub == null || !sub.inputs().get(0).equals(x) || !sub.inputs().get(1).equals(m)) return;
        String d = sub.outputs().get(0);
        if (!internal(d, 2)) return;
        Proto.Node pow = null, div = null;
        for (int c : consumers.get(d)) {
            Proto.Node n = nodes.get(c);
            if (n.opType().equals("Pow") && n.inputs().get(0).equals(d)) pow = n;
            if (n.opType().equals("Div") && n.inputs().get(0).equals(d)) div = n;
        }
        if (pow == null || div == null || scalar(pow.inputs().get(1)) != 2) return;
        Proto.Node var = soleConsumer(pow.outputs().get(0), "ReduceMean");
        if (var == null || !lastAxis(var, opset)) return;
        Proto.Node addEps = soleConsumer(var.outputs().get(0), "Add");
        if (addEps == null) return;
        double eps = scalar(other(addEps, var.outputs().get(0)));
        if (Double.isNaN(eps)) return;
        Proto.Node sqrt = soleConsumer(addEps.outputs().get(0), "Sqrt");
        if (sqrt == null || !div.inputs().get(1).equals(sqrt.outputs().get(0)) || !internal(sqrt.outputs().get(0), 1)) return;
        Proto.Node mul = soleConsumer(div.outputs().get(0), "Mul");
        if (mul == null) return;
        String gamma = other(mul, div.outputs().get(0));
        Proto.Node addB = soleConsumer(mul.outputs().get(0), "Add");
        if (addB == null) return;
        String beta = other(addB, mul.outputs().get(0));
        Value g = constants.get(gamma), b = constants.get(beta);
        if (g == null || b == null || g.rank() != 1 || b.rank() != 1 || g.type != DataType.FLOAT || b.type != DataType.FLOAT) return;
        Map<String, Proto.Attribute> attrs = new LinkedHashMap<>();
        attrs.put("epsilon", floatAttr("epsilon", (float) eps));
        replace(List.of(mean, sub, pow, var, addEps, sqrt, div, mul, addB),
                node(mean.name() + "/fused_layernorm", "LayerNormalization", List.of(x, gamma, beta), addB.outputs(), attrs));
    }

    /** Whether a ReduceMean reduces exactly the last axis (axes [-1]) and keeps dims. */
    private boolean lastAxis(Proto.Node reduce, long opset) {
        Proto.Attribute keep = reduce.attributes().get("keepdims");
        if (keep != null && keep.i() == 0) return false;
        long[] axes;
        if (opset >= 18) {
            if (reduce.inputs().size() < 2) return false;
            Value v = constants.get(reduce.inputs().get(1));
            axes = v == null || v.l == null ? null : v.l;
        } else {
            Proto.Attribute a = reduce.attributes().get("axes");
            axes = a == null ? null : a.ints();
        }
        return axes != null && axes.length == 1 && axes[0] == -1;
    }

    /** Erf at index i, the centre of the GELU pattern. */
    private void gelu(int i) {
        Proto.Node erf = nodes.get(i);
        Proto.Node div = producerOf(erf.inputs().get(0), "Div");
        if (div == null || !internal(div.outputs().get(0), 1) || Math.abs(scalar(div.inputs().get(1)) - Math.sqrt(2)) > 1e-3) return;
        String x = div.inputs().get(0);
        Proto.Node add = soleConsumer(erf.outputs().get(0), "Add");
        if (add == null || scalar(other(add, erf.outputs().get(0))) != 1) return;
        Proto.Node mul1 = soleConsumer(add.outputs().get(0), "Mul");
        if (mul1 == null) return;
        String o1 = other(mul1, add.outputs().get(0));
        Proto.Node mul2 = soleConsumer(mul1.outputs().get(0), "Mul");
        if (mul2 == null) return;
        String o2 = other(mul2, mul1.outputs().get(0));
        // x * (1 + erf) * 0.5, or 0.5 * (1 + erf) * x
        boolean ok = (x.equals(o1) && scalar(o2) == 0.5) || (scalar(o1) == 0.5 && x.equals(o2));
        if (!ok) return;
        replace(List.of(div, erf, add, mul1, mul2), node(erf.name() + "/fused_gelu", "Gelu", List.of(x), mul2.outputs(), Map.of()));
    }

    /** MatMul at index i with a constant 2-D FLOAT right operand, and its bias Add if there is one. */
    private void linear(int i) {
        Proto.Node mm = nodes.get(i);
        Value w = constants.get(mm.inputs().get(1));
        if (w == null || w.rank() != 2 || w.type != DataType.FLOAT) return;
        String y = mm.outputs().get(0);
        Proto.Node add = soleConsumer(y, "Add");
        String bias = add == null ? null : other(add, y);
        Value b = bias == null ? null : constants.get(bias);
        if (b != null && b.rank() == 1 && b.type == DataType.FLOAT && b.shape[0] == w.shape[1]) {
            replace(List.of(mm, add), node(mm.name() + "/fused_linear", "Linear", List.of(mm.inputs().get(0), mm.inputs().get(1), bias), add.outputs(), Map.of()));
        } else {
            replace(List.of(mm), node(mm.name() + "/fused_linear", "Linear", List.of(mm.inputs().get(0), mm.inputs().get(1)), mm.outputs(), Map.of()));
        }
    }

    /** Fused Linear nodes with the same input and equal K → one LinearGroup at the first one's place. */
    private void groupLinears() {
        Map<String, List<Integer>> byInput = new LinkedHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Proto.Node n = nodes.get(i);
            if (!removed[i] && n.opType().equals("Linear") && n.domain().equals(DOMAIN))
                byInput.computeIfAbsent(n.inputs().get(0), k -> new ArrayList<>()).add(i);
        }
        for (List<Integer> group : byInput.values()) {
            if (group.size() < 2) continue;
            long k = constants.get(nodes.get(group.get(0)).inputs().get(1)).shape[0];
            if (group.stream().anyMatch(i -> constants.get(nodes.get(i).inputs().get(1)).shape[0] != k)) continue;
            Proto.Node first = nodes.get(group.get(0));
            List<String> in = new ArrayList<>(List.of(first.inputs().get(0))), out = new ArrayList<>();
            for (int i : group) {
                Proto.Node n = nodes.get(i);
                in.add(n.inputs().get(1));
                in.add(n.inputs().size() > 2 ? n.inputs().get(2) : "");
                out.add(n.outputs().get(0));
                removed[i] = true;
            }
            // the first Linear's place: its input is ready there, and every output's consumers come later
            nodes.set(group.get(0), node(first.name() + "/grouped", "LinearGroup", in, out, Map.of()));
            removed[group.get(0)] = false;
        }
    }

    /** DynamicQuantizeLinear at index i, if its codes and zero point feed only fused MatMulIntegerToFloat nodes as A. */
    private void shiftedQuantize(int i) {
        Proto.Node q = nodes.get(i);
        if (q.outputs().size() < 3) return;
        String y = q.outputs().get(0), zp = q.outputs().get(2);
        if (outputs.contains(y) || outputs.contains(zp)) return;
        List<Integer> users = new ArrayList<>();
        for (int j = 0; j < nodes.size(); j++) {
            if (removed[j] || j == i) continue;
            Proto.Node n = nodes.get(j);
            boolean reads = n.inputs().contains(y) || n.inputs().contains(zp);
            if (!reads) continue;
            boolean fits = n.opType().equals("MatMulIntegerToFloat") && n.domain().equals(DOMAIN) && n.inputs().get(0).equals(y)
                    && n.inputs().lastIndexOf(y) == 0 && n.inputs().size() > 2 && n.inputs().get(2).equals(zp) && n.inputs().lastIndexOf(zp) == 2;
            if (!fits) return;
            users.add(j);
        }
        if (users.isEmpty()) return;
        String shifted = y + "/shifted";
        nodes.set(i, node(q.name() + "/shifted", "DynamicQuantizeShifted", q.inputs(), List.of(shifted, q.outputs().get(1), zp), Map.of()));
        for (int j : users) {
            Proto.Node n = nodes.get(j);
            List<String> in = new ArrayList<>(n.inputs());
            in.set(0, shifted);
            in.set(2, "");
            nodes.set(j, new Proto.Node(n.name(), n.opType(), n.domain(), in, n.outputs(), n.attributes()));
        }
    }

    /**
     * DequantizeLinear at index i of the rows that a Gather on axis 0 picks from a constant 2-D int8 table, with one
     * constant scale and zero point (a quantized embedding lookup) → {@code GatherDequantized}: each picked row
     * dequantized straight into the float output, instead of a gathered integer tensor (8 bytes an element here)
     * read again by a second pass.
     */
    private void gatherDequantized(int i) {
        Proto.Node dq = nodes.get(i);
        if (dq.inputs().size() < 2 || dq.outputs().size() != 1) return;
        Proto.Node gather = producerOf(dq.inputs().get(0), "Gather");
        if (gather == null || gather.inputs().size() != 2 || !internal(gather.outputs().get(0), 1)) return;
        Proto.Attribute axis = gather.attributes().get("axis");
        if (axis != null && axis.i() != 0) return;
        Value table = constants.get(gather.inputs().get(0)), scale = constants.get(dq.inputs().get(1));
        String zp = dq.inputs().size() > 2 ? dq.inputs().get(2) : "";
        Value zero = zp.isEmpty() ? null : constants.get(zp);
        if (table == null || table.rank() != 2 || !(table.type == DataType.INT8 || table.type == DataType.UINT8)) return;
        if (scale == null || scale.type != DataType.FLOAT || scale.numel() != 1 || (!zp.isEmpty() && (zero == null || zero.numel() != 1))) return;
        replace(List.of(gather, dq), node(dq.name() + "/fused_gather", "GatherDequantized", List.of(gather.inputs().get(0), gather.inputs().get(1),
                dq.inputs().get(1), zp), dq.outputs(), Map.of()));
    }

    /**
     * MatMulInteger at index i with constant B (and zero point), followed by a Cast to FLOAT and, as dynamic
     * quantization writes it, by a Mul with the scale product and an Add of a constant bias.
     */
    private void matmulInteger(int i) {
        Proto.Node mm = nodes.get(i);
        if (!constants.containsKey(mm.inputs().get(1))) return;
        if (mm.inputs().size() > 3 && !mm.inputs().get(3).isEmpty() && !constants.containsKey(mm.inputs().get(3))) return;
        Proto.Node cast = soleConsumer(mm.outputs().get(0), "Cast");
        if (cast == null || cast.attributes().get("to") == null || cast.attributes().get("to").i() != DataType.FLOAT.code) return;
        List<String> in = new ArrayList<>(mm.inputs());
        while (in.size() < 4) in.add("");
        List<Proto.Node> pattern = new ArrayList<>(List.of(mm, cast));
        List<String> out = cast.outputs();
        Proto.Node mul = soleConsumer(cast.outputs().get(0), "Mul");
        if (mul != null) {
            in.add(other(mul, cast.outputs().get(0)));
            pattern.add(mul);
            out = mul.outputs();
            Proto.Node add = soleConsumer(mul.outputs().get(0), "Add");
            String bias = add == null ? null : other(add, mul.outputs().get(0));
            Value b = bias == null ? null : constants.get(bias);
            Value w = constants.get(mm.inputs().get(1));
            if (b != null && b.rank() == 1 && b.type == DataType.FLOAT && w.rank() == 2 && b.shape[0] == w.shape[1]) {
                in.add(bias);
                pattern.add(add);
                out = add.outputs();
            }
        }
        replace(pattern, node(mm.name() + "/fused_to_float", "MatMulIntegerToFloat", in, out, Map.of()));
    }

    /**
     * The encoder-layer pattern starting at the LinearGroup at index i (see the class comment); true if replaced.
     * Every value inside the pattern must be read only inside it; the layer's input is read by the LinearGroup and
     * the first residual Add, the first LayerNorm's output by the up projection and the second residual Add.
     */
    private boolean encoderLayer(int i) {
        Proto.Node group = nodes.get(i);
        if (group.outputs().size() != 3 || group.inputs().size() != 7) return false;
        String x = group.inputs().get(0);
        Proto.Node[] split = new Proto.Node[3];
        for (int j = 0; j < 3; j++) if ((split[j] = reshapeOf(group.outputs().get(j))) == null) return false;
        Proto.Node att = soleFusedConsumer(split[0].outputs().get(0), "Attention");
        if (att == null || att.inputs().size() < 3) return false;
        for (int j = 0; j < 3; j++)
            if (!att.inputs().get(j).equals(split[j].outputs().get(0)) || soleFusedConsumer(split[j].outputs().get(0), "Attention") != att) return false;
        Value wq = constants.get(group.inputs().get(1));
        if (wq == null || wq.rank() != 2 || wq.type != DataType.FLOAT) return false;
        int hidden = wq.shape[1], heads = heads(split, hidden, att);
        Proto.Node merge = heads < 1 ? null : mergedAttention(att, split, group.outputs());
        if (merge == null) return false;
        Proto.Node attnOut = linearWithBias(merge.outputs().get(0), hidden, hidden);
        if (attnOut == null) return false;
        Proto.Node add1 = soleConsumer(attnOut.outputs().get(0), "Add");
        if (add1 == null || !x.equals(other(add1, attnOut.outputs().get(0)))) return false;
        Proto.Node norm1 = layerNormConsumer(add1.outputs().get(0), hidden);
        if (norm1 == null) return false;
        String a = norm1.outputs().get(0);
        if (!internal(a, 2)) return false;
        Proto.Node up = null, add2 = null;
        for (int c : consumers.get(a)) {
            Proto.Node n = nodes.get(c);
            if (isFused(n, "Linear") && n.inputs().get(0).equals(a)) up = n;
            else if (n.opType().equals("Add") && n.domain().isEmpty()) add2 = n;
        }
        if (up == null || add2 == null || removed[nodes.indexOf(up)]) return false;
        Value wi = up.inputs().size() == 3 ? constants.get(up.inputs().get(1)) : null, bi = wi == null ? null : constants.get(up.inputs().get(2));
        if (wi == null || wi.rank() != 2 || wi.shape[0] != hidden || bi == null || bi.numel() != wi.shape[1]) return false;
        Proto.Node gelu = soleFusedConsumer(up.outputs().get(0), "Gelu");
        if (gelu == null) return false;
        Proto.Node down = linearWithBias(gelu.outputs().get(0), wi.shape[1], hidden);
        if (down == null || !down.outputs().get(0).equals(other(add2, a)) || !internal(down.outputs().get(0), 1)) return false;
        Proto.Node norm2 = layerNormConsumer(add2.outputs().get(0), hidden);
        if (norm2 == null) return false;
        for (int j = 1; j < 7; j += 2) {
            Value w = constants.get(group.inputs().get(j)), b = constants.get(group.inputs().get(j + 1));
            if (w == null || w.type != DataType.FLOAT || w.rank() != 2 || w.shape[0] != hidden || w.shape[1] != hidden || b == null || b.numel() != hidden)
                return false;
        }
        List<String> in = new ArrayList<>(List.of(x, att.inputs().size() > 3 ? att.inputs().get(3) : ""));
        in.addAll(group.inputs().subList(1, 7));
        for (Proto.Node n : List.of(attnOut, norm1, up, down, norm2)) in.addAll(n.inputs().subList(1, 3));
        Map<String, Proto.Attribute> attrs = new LinkedHashMap<>();
        attrs.put("heads", new Proto.Attribute("heads", Proto.Attribute.INT, 0, heads, null, null, new float[0], new long[0], List.of()));
        attrs.put("epsilon1", floatAttr("epsilon1", epsilon(norm1)));
        attrs.put("epsilon2", floatAttr("epsilon2", epsilon(norm2)));
        List<Proto.Node> pattern = List.of(group, split[0], split[1], split[2], att, merge, attnOut, add1, norm1, up, gelu, down, add2, norm2);
        replace(pattern, node(group.name() + "/fused_encoder_layer", "EncoderLayer", in, norm2.outputs(), attrs));
        return true;
    }

    /**
     * The dynamically quantized projections of one float value as the quantization pass leaves them: a
     * DynamicQuantizeShifted of the value whose codes feed {@code matmuls} (MatMulIntegerToFloat nodes with constant
     * B, b zero point and bias), each scaled by its own Mul of the quantizer's scale and a constant weight scale
     * ({@code muls}), which nothing else reads.
     */
    private record Quantized(Proto.Node quant, List<Proto.Node> muls, List<Proto.Node> matmuls, List<String> weightScales) {
        List<Proto.Node> nodes() {
            List<Proto.Node> all = new ArrayList<>(List.of(quant));
            all.addAll(muls);
            all.addAll(matmuls);
            return all;
        }

        /** The fused layer's inputs for projection j: B, b zero point (or empty), weight scale, bias. */
        List<String> inputs(int j) {
            List<String> in = matmuls.get(j).inputs();
            return List.of(in.get(1), in.get(3), weightScales.get(j), in.get(5));
        }

        String output(int j) {
            return matmuls.get(j).outputs().get(0);
        }
    }

    /** {@link Quantized} for {@code value} with exactly {@code count} projections, or null. */
    private Quantized quantizedProjections(String value, int count) {
        Proto.Node q = null;
        for (int c : consumers.getOrDefault(value, List.of())) {
            Proto.Node n = nodes.get(c);
            if (removed[c] || !isFused(n, "DynamicQuantizeShifted") || !n.inputs().get(0).equals(value)) continue;
            if (q != null) return null;
            q = n;
        }
        if (q == null || q.outputs().size() != 3) return null;
        String codes = q.outputs().get(0), scale = q.outputs().get(1), zp = q.outputs().get(2);
        if (!internal(codes, count) || !internal(scale, count) || !internal(zp, 0)) return null;
        List<Proto.Node> muls = new ArrayList<>(), matmuls = new ArrayList<>();
        List<String> weightScales = new ArrayList<>();
        for (int c : consumers.get(codes)) {
            Proto.Node mm = nodes.get(c);
            if (removed[c] || !isFused(mm, "MatMulIntegerToFloat") || mm.inputs().size() != 6 || !mm.inputs().get(0).equals(codes)
                    || !mm.inputs().get(2).isEmpty() || mm.outputs().size() != 1) return null;
            Value b = constants.get(mm.inputs().get(1)), bias = constants.get(mm.inputs().get(5));
            if (b == null || b.rank() != 2 || !(b.type == DataType.INT8 || b.type == DataType.UINT8)) return null;
            String bzp = mm.inputs().get(3);
            if (!bzp.isEmpty() && !constants.containsKey(bzp)) return null;
            if (bias == null || bias.type != DataType.FLOAT || bias.rank() != 1 || bias.numel() != b.shape[1]) return null;
            Proto.Node mul = producerOf(mm.inputs().get(4), "Mul");
            if (mul == null || !internal(mul.outputs().get(0), 1) || mm.inputs().lastIndexOf(codes) != 0) return null;
            String ws = other(mul, scale);
            Value wsv = ws == null || ws.equals(scale) ? null : constants.get(ws);
            if (wsv == null || wsv.type != DataType.FLOAT || wsv.rank() > 1 || (wsv.numel() != 1 && wsv.numel() != b.shape[1])) return null;
            muls.add(mul);
            matmuls.add(mm);
            weightScales.add(ws);
        }
        for (int c : consumers.get(scale)) if (!muls.contains(nodes.get(c))) return null;
        return new Quantized(q, muls, matmuls, weightScales);
    }

    /** B's [rows, cols] of projection j, or null if not that shape. */
    private boolean weightShape(Quantized p, int j, int rows, int cols) {
        Value b = constants.get(p.matmuls().get(j).inputs().get(1));
        return b.shape[0] == rows && b.shape[1] == cols;
    }

    /**
     * The encoder-layer pattern of a dynamically quantized export starting at the DynamicQuantizeShifted at index i
     * (the layer input's, shared by the query, key and value projections); true if replaced by a
     * {@code QuantizedEncoderLayer}. The same layer as {@link #encoderLayer}, with each projection a quantizer of its
     * input, a Mul of the scales and a MatMulIntegerToFloat: the attention output, the first norm's output and the
     * GELU output are each quantized once, over the whole tensor, as the export does.
     */
    private boolean quantizedEncoderLayer(int i) {
        String x = nodes.get(i).inputs().get(0);
        Quantized qkv = quantizedProjections(x, 3);
        if (qkv == null || qkv.quant() != nodes.get(i)) return false;
        Proto.Node[] split = new Proto.Node[3];
        for (int j = 0; j < 3; j++) if ((split[j] = reshapeOf(qkv.output(j))) == null) return false;
        Proto.Node att = soleFusedConsumer(split[0].outputs().get(0), "Attention");
        if (att == null || att.inputs().size() < 3) return false;
        int[] role = new int[3]; // role[r]: the projection whose reshape is the attention's input r (query, key, value)
        for (int r = 0; r < 3; r++) {
            role[r] = -1;
            for (int j = 0; j < 3; j++) if (att.inputs().get(r).equals(split[j].outputs().get(0))) role[r] = j;
            if (role[r] < 0 || soleFusedConsumer(split[role[r]].outputs().get(0), "Attention") != att) return false;
        }
        if (role[0] == role[1] || role[1] == role[2] || role[0] == role[2]) return false;
        Value wq = constants.get(qkv.matmuls().get(0).inputs().get(1));
        int hidden = wq.shape[0];
        for (int j = 0; j < 3; j++) if (!weightShape(qkv, j, hidden, hidden)) return false;
        int heads = heads(split, hidden, att);
        Proto.Node merge = heads < 1 ? null : mergedAttention(att, split, List.of(qkv.output(0), qkv.output(1), qkv.output(2)));
        if (merge == null || !internal(merge.outputs().get(0), 1)) return false;
        Quantized attnOut = quantizedProjections(merge.outputs().get(0), 1);
        if (attnOut == null || !weightShape(attnOut, 0, hidden, hidden)) return false;
        Proto.Node add1 = soleConsumer(attnOut.output(0), "Add");
        if (add1 == null || !x.equals(other(add1, attnOut.output(0)))) return false;
        Proto.Node norm1 = layerNormConsumer(add1.outputs().get(0), hidden);
        if (norm1 == null) return false;
        String a = norm1.outputs().get(0);
        if (!internal(a, 2)) return false;
        Proto.Node add2 = null;
        for (int c : consumers.get(a)) if (nodes.get(c).opType().equals("Add") && nodes.get(c).domain().isEmpty() && !removed[c]) add2 = nodes.get(c);
        Quantized up = quantizedProjections(a, 1);
        if (up == null || add2 == null) return false;
        int inner = constants.get(up.matmuls().get(0).inputs().get(1)).shape[1];
        if (!weightShape(up, 0, hidden, inner)) return false;
        Proto.Node gelu = soleFusedConsumer(up.output(0), "Gelu");
        if (gelu == null || !internal(gelu.outputs().get(0), 1)) return false;
        Quantized down = quantizedProjections(gelu.outputs().get(0), 1);
        if (down == null || !weightShape(down, 0, inner, hidden)) return false;
        if (!down.output(0).equals(other(add2, a)) || !internal(down.output(0), 1)) return false;
        Proto.Node norm2 = layerNormConsumer(add2.outputs().get(0), hidden);
        if (norm2 == null) return false;
        List<String> in = new ArrayList<>(List.of(x, att.inputs().size() > 3 ? att.inputs().get(3) : ""));
        for (int r = 0; r < 3; r++) in.addAll(qkv.inputs(role[r]));
        in.addAll(attnOut.inputs(0));
        in.addAll(norm1.inputs().subList(1, 3));
        in.addAll(up.inputs(0));
        in.addAll(down.inputs(0));
        in.addAll(norm2.inputs().subList(1, 3));
        Map<String, Proto.Attribute> attrs = new LinkedHashMap<>();
        attrs.put("heads", new Proto.Attribute("heads", Proto.Attribute.INT, 0, heads, null, null, new float[0], new long[0], List.of()));
        attrs.put("epsilon1", floatAttr("epsilon1", epsilon(norm1)));
        attrs.put("epsilon2", floatAttr("epsilon2", epsilon(norm2)));
        List<Proto.Node> pattern = new ArrayList<>(qkv.nodes());
        pattern.addAll(List.of(split[0], split[1], split[2], att, merge, add1, norm1, gelu, add2, norm2));
        pattern.addAll(attnOut.nodes());
        pattern.addAll(up.nodes());
        pattern.addAll(down.nodes());
        replace(pattern, node(nodes.get(i).name() + "/fused_quantized_encoder_layer", "QuantizedEncoderLayer", in, norm2.outputs(), attrs));
        return true;
    }

    /**
     * The heads of an encoder layer's attention: the head count all three Q, K, V reshapes (split) give for
     * {@code hidden}, when the attention's scale is 1 / sqrt(head size); otherwise -1.
     */
    private int heads(Proto.Node[] split, int hidden, Proto.Node att) {
        int heads = heads(split[0].inputs().get(1), hidden);
        if (heads < 1 || heads(split[1].inputs().get(1), hidden) != heads || heads(split[2].inputs().get(1), hidden) != heads) return -1;
        Proto.Attribute scale = att.attributes().get("scale");
        double expected = 1 / Math.sqrt(hidden / heads);
        return scale == null || Math.abs(scale.f() - expected) > 1e-6 * expected ? -1 : heads;
    }

    /**
     * The Reshape that merges the heads of att's output back, when the projections' outputs {@code qkv} and att's
     * output are read only through the split and merge Reshapes; otherwise null. The exporter reads the shapes of Q,
     * K, V and the attention output for the Reshapes' targets: those reads may stay, as they die with the Reshapes.
     */
    private Proto.Node mergedAttention(Proto.Node att, Proto.Node[] split, List<String> qkv) {
        Proto.Node merge = reshapeOf(att.outputs().get(0));
        if (merge == null) return null;
        List<Proto.Node> reshapes = List.of(split[0], split[1], split[2], merge);
        for (int j = 0; j < 3; j++) if (!readOnlyBy(qkv.get(j), split[j], reshapes)) return null;
        return readOnlyBy(att.outputs().get(0), merge, reshapes) ? merge : null;
    }

    /** The one Reshape of {@code value} (as its data), whatever else reads the value; null if none or several. */
    private Proto.Node reshapeOf(String value) {
        Proto.Node found = null;
        for (int c : consumers.getOrDefault(value, List.of())) {
            Proto.Node n = nodes.get(c);
            if (removed[c] || !n.opType().equals("Reshape") || !n.domain().isEmpty() || !n.inputs().get(0).equals(value)) continue;
            if (found != null) return null;
            found = n;
        }
        return found;
    }

    private static final Set<String> SHAPE_ARITHMETIC = Set.of("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast",
            "Add", "Sub", "Mul", "Div");

    /**
     * Whether {@code value} is internal and read only by {@code reader} and by Shape nodes whose results flow, through
     * shape arithmetic only, into nothing but the target shapes of {@code reshapes}: once those are replaced, all such
     * readers are dead.
     */
    private boolean readOnlyBy(String value, Proto.Node reader, List<Proto.Node> reshapes) {
        if (outputs.contains(value)) return false;
        for (int c : consumers.getOrDefault(value, List.of())) {
            Proto.Node n = nodes.get(c);
            if (removed[c]) return false;
            if (n != reader && !(n.opType().equals("Shape") && feedsOnlyShapes(n, reshapes, 0))) return false;
        }
        return true;
    }

    private boolean feedsOnlyShapes(Proto.Node n, List<Proto.Node> reshapes, int depth) {
        if (depth > 8) return false;
        for (String o : n.outputs()) {
            if (outputs.contains(o)) return false;
            for (int c : consumers.getOrDefault(o, List.of())) {
                Proto.Node m = nodes.get(c);
                if (removed[c]) return false;
                if (reshapes.contains(m) && m.inputs().get(1).equals(o) && !m.inputs().get(0).equals(o)) continue;
                if (!m.domain().isEmpty() || !SHAPE_ARITHMETIC.contains(m.opType()) || !feedsOnlyShapes(m, reshapes, depth + 1)) return false;
            }
        }
        return true;
    }

    /** The head count from a [B, T, heads, size] Reshape target: a constant, or a Concat ending in two constants. */
    private int heads(String shape, int hidden) {
        Value v = constants.get(shape);
        long h, d;
        if (v != null) {
            if (v.l == null || v.numel() != 4) return -1;
            h = v.l[2];
            d = v.l[3];
        } else {
            Proto.Node concat = producerOf(shape, "Concat");
            if (concat == null || concat.inputs().size() != 4) return -1;
            Value hv = constants.get(concat.inputs().get(2)), dv = constants.get(concat.inputs().get(3));
            if (hv == null || dv == null || hv.l == null || dv.l == null || hv.numel() != 1 || dv.numel() != 1) return -1;
            h = hv.l[0];
            d = dv.l[0];
        }
        if (d == -1 && h > 0 && hidden % h == 0) d = hidden / h;
        return h > 0 && h * d == hidden ? (int) h : -1;
    }

    /** The sole consumer of {@code value}: a fused Linear on it with a constant [in, out] weight and a bias. */
    private Proto.Node linearWithBias(String value, int in, int out) {
        Proto.Node n = soleFusedConsumer(value, "Linear");
        if (n == null || n.inputs().size() != 3 || !n.inputs().get(0).equals(value)) return null;
        Value w = constants.get(n.inputs().get(1)), b = constants.get(n.inputs().get(2));
        if (w == null || w.rank() != 2 || w.shape[0] != in || w.shape[1] != out || b == null || b.numel() != out) return null;
        return n;
    }

    /** The sole consumer of {@code value}: a layer norm over the last axis with constant [hidden] scale and bias. */
    private Proto.Node layerNormConsumer(String value, int hidden) {
        List<Integer> c = consumers.getOrDefault(value, List.of());
        if (c.size() != 1 || outputs.contains(value) || removed[c.get(0)]) return null;
        Proto.Node n = nodes.get(c.get(0));
        if (!n.opType().equals("LayerNormalization") || !(n.domain().isEmpty() || n.domain().equals(DOMAIN))) return null;
        if (n.inputs().size() != 3 || !n.inputs().get(0).equals(value) || n.outputs().size() != 1) return null;
        Proto.Attribute axis = n.attributes().get("axis");
        if (axis != null && axis.i() != -1) return null;
        Value g = constants.get(n.inputs().get(1)), b = constants.get(n.inputs().get(2));
        if (g == null || b == null || g.type != DataType.FLOAT || b.type != DataType.FLOAT || g.rank() != 1 || b.rank() != 1
                || g.numel() != hidden || b.numel() != hidden) return null;
        return n;
    }

    private static float epsilon(Proto.Node norm) {
        Proto.Attribute e = norm.attributes().get("epsilon");
        return e == null ? 1e-5f : e.f();
    }
}
