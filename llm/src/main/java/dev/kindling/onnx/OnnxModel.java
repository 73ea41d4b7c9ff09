package dev.kindling.onnx;

import dev.kindling.io.FileFormatException;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model (.onnx file, with external data files beside it if it has them) compiled to run on Kindling's
 * kernels. Loading parses the protobuf, fuses subgraphs that have faster kernels (matmul + bias, layer norm, GELU,
 * attention), infers types and shapes, folds constant subgraphs, and fails on any op or element type it cannot run,
 * naming the op and node. {@link #run} is thread-safe: values live per call.
 * <pre>{@code
 * OnnxModel model = OnnxModel.load(Path.of("model.onnx"));
 * Map<String, Tensor> out = model.run(Map.of("input_ids", ids, "attention_mask", mask));
 * }</pre>
 */
public final class OnnxModel {
    private final Path file;
    private final Graph graph;
    private final long opset;

    private OnnxModel(Path file, Graph graph, long opset) {
        this.file = file;
        this.graph = graph;
        this.opset = opset;
    }

    /**
     * Loads and compiles {@code file}.
     *
     * @throws FileFormatException if the file is not a well-formed ONNX model (truncated, lying lengths, missing graph,
     *     external data outside the model's folder or too short), with the byte offset or tensor named
     * @throws UnsupportedOperationException naming the op and node (or element type) the runtime does not support
     * @throws IllegalArgumentException if the graph is inconsistent (a value used before it is defined, shapes that
     *     cannot match)
     */
    public static OnnxModel load(Path file) throws IOException {
        return load(file, true);
    }

    /** {@link #load(Path)}, with or without the fusions (tests compare the two). */
    static OnnxModel load(Path file, boolean fuse) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("onnx: " + file + " is not a file");
        Proto.Model model;
        try {
            model = Proto.readModel(file);
        } catch (OnnxFormatException e) {
            throw new FileFormatException(file + ": " + e.getMessage(), e);
        }
        return new OnnxModel(file, new Graph(model, fuse), model.opset());
    }

    /** The names of the graph's inputs (initializers excluded), in declaration order. */
    public List<String> inputNames() {
        return List.copyOf(graph.inputNames);
    }

    /** The names of the graph's outputs, in declaration order. */
    public List<String> outputNames() {
        return List.copyOf(graph.outputNames);
    }

    /** The declared shape of input {@code name}, -1 for a dimension that may vary; null if the model does not declare one. */
    public int[] inputShape(String name) {
        Op.Type t = graph.inputTypes.get(name);
        if (t == null) throw new IllegalArgumentException("onnx: '" + name + "' is not an input of " + file.getFileName() + " (inputs: " + graph.inputNames + ")");
        return t.dims() == null ? null : t.dims().clone();
    }

    /** The default-domain opset the model was exported with. */
    public long opset() {
        return opset;
    }

    /**
     * Runs the model. Inputs are converted to the element types the model declares (a FLOAT32 tensor for a float
     * input, an integer tensor for an integer one). Outputs come back in {@link #outputNames()} order: FLOAT and
     * DOUBLE outputs as FLOAT32 tensors, integer and BOOL outputs as INT64 tensors.
     *
     * @throws IllegalArgumentException if an input is missing, unknown, of the wrong kind or shape, or an op fails on
     *     the values (naming the node)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        Map<String, Value> values = new HashMap<>();
        for (var e : inputs.entrySet()) {
            Op.Type t = graph.inputTypes.get(e.getKey());
            if (t == null) throw new IllegalArgumentException("onnx: '" + e.getKey() + "' is not an input of the model (inputs: " + graph.inputNames + ")");
            values.put(e.getKey(), toValue(e.getKey(), e.getValue(), t.dtype()));
        }
        Value[] out = graph.run(values);
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (int i = 0; i < out.length; i++) result.put(graph.outputNames.get(i), toTensor(out[i]));
        return result;
    }

    static Value toValue(String name, Tensor t, DataType type) {
        int[] shape = t.shape();
        if (type.isFloat() || type == DataType.DOUBLE) {
            if (!t.dtype().isFloatingPoint()) throw new IllegalArgumentException("onnx: input '" + name + "' must be " + type + ", got a " + t.dtype() + " tensor");
            float[] f = t.contiguous().toFloatArray();
            Value v = Value.floats(f, shape);
            return type == DataType.FLOAT ? v : ElementwiseOps.cast(v, type);
        }
        if (t.dtype().isFloatingPoint()) throw new IllegalArgumentException("onnx: input '" + name + "' must be " + type + ", got a " + t.dtype() + " tensor");
        long[] l = t.contiguous().toLongArray();
        for (int i = 0; i < l.length; i++) l[i] = type.wrap(l[i]);
        return Value.longs(type, l, shape);
    }

    static Tensor toTensor(Value v) {
        if (v.f != null) return Tensor.wrap(v.f, v.shape);
        if (v.d != null) {
            float[] f = new float[v.d.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) v.d[i];
            return Tensor.wrap(f, v.shape);
        }
        return Tensor.wrapLongs(v.l, v.shape);
    }

    /** The declared element type of input {@code name} (tests). */
    DataType graphInputType(String name) {
        return graph.inputTypes.get(name).dtype();
    }

    Graph graph() {
        return graph;
    }

    /** Runs on internal values (the conformance tests use it to compare every element type exactly). */
    Value[] runValues(Map<String, Value> inputs) {
        return graph.run(inputs);
    }

    @Override
    public String toString() {
        return "OnnxModel(" + file.getFileName() + ", opset " + opset + ", inputs " + graph.inputNames + ", outputs " + graph.outputNames + ")";
    }


}
