package dev.kindling.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto) that
 * running a graph needs, decoded from the wire format with {@link Wire}. Field numbers are onnx.proto's. Unknown
 * fields are skipped, as protobuf requires; malformed ones fail naming the message and byte offset.
 */
final class Proto {
    private Proto() {}

    record Model(long irVersion, Map<String, Long> opsets, Graph graph) {
        /** The opset version of the default (ai.onnx) domain. */
        long opset() {
            return opsets.getOrDefault("", opsets.getOrDefault("ai.onnx", 1L));
        }
    }

    record Graph(String name, List<Node> nodes, Map<String, Value> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs) {}

    /** A declared graph input or output: element type (null if not a tensor) and dims (-1 for a symbolic one). */
    record ValueInfo(String name, DataType type, int[] dims, boolean isTensor) {}

    record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs, Map<String, Attribute> attributes) {
        /** "Add 'layer.0/add'" or "Add #12" for error messages. */
        String label(int index) {
            return opType + (name.isEmpty() ? " #" + index : " '" + name + "'");
        }
    }

    /** One attribute; only the field matching its type is set. */
    record Attribute(String name, int type, float f, long i, String s, Value t, float[] floats, long[] ints, List<String> strings) {
        static final int FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7, STRINGS = 8;
    }

    static Model readModel(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE)
            throw new OnnxFormatException("onnx: " + file + " is " + size + " bytes; protobuf files are at most 2 GiB (large weights go in external data files)");
        ByteBuffer buf;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        return model(new Wire(buf, 0, "ModelProto"), file.toAbsolutePath().getParent());
    }

    static Model model(Wire w, Path dir) {
        long ir = 0;
        Map<String, Long> opsets = new HashMap<>();
        Graph graph = null;
        while (w.next()) {
            switch (w.field()) {
                case 1 -> ir = w.integer();
                case 7 -> graph = graph(w.message("GraphProto"), dir);
                case 8 -> {
                    Wire o = w.message("OperatorSetIdProto");
                    String domain = "";
                    long version = 0;
                    while (o.next()) {
                        if (o.field() == 1) domain = o.string();
                        else if (o.field() == 2) version = o.integer();
                        else o.skip();
                    }
                    opsets.put(domain, version);
                }
                default -> w.skip();
            }
        }
        if (graph == null) throw new OnnxFormatException("onnx: ModelProto has no graph (field 7); is this an ONNX model file?");
        if (opsets.isEmpty()) throw new OnnxFormatException("onnx: ModelProto has no opset_import (field 8), which every model since IR version 3 declares");
        return new Model(ir, opsets, graph);
    }

    static Graph graph(Wire w, Path dir) {
        String name = "";
        List<Node> nodes = new ArrayList<>();
        Map<String, Value> inits = new LinkedHashMap<>();
        List<ValueInfo> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        while (w.next()) {
            switch (w.field()) {
                case 1 -> nodes.add(node(w.message("NodeProto #" + nodes.size())));
                case 2 -> name = w.string();
                case 5 -> {
                    NamedTensor t = tensor(w.message("TensorProto (initializer " + inits.size() + ")"), dir);
                    inits.put(t.name, t.value);
                }
                case 11 -> inputs.add(valueInfo(w.message("ValueInfoProto (input)")));
                case 12 -> outputs.add(valueInfo(w.message("ValueInfoProto (output)")));
                case 15 -> throw new UnsupportedOperationException("onnx: graph '" + name + "' has sparse initializers, which are not supported");
                default -> w.skip();
            }
        }
        return new Graph(name, nodes, inits, inputs, outputs);
    }

    static Node node(Wire w) {
        String name = "", op = "", domain = "";
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        while (w.next()) {
            switch (w.field()) {
                case 1 -> in.add(w.string());
                case 2 -> out.add(w.string());
                case 3 -> name = w.string();
                case 4 -> op = w.string();
                case 7 -> domain = w.string();
                case 5 -> {
                    Attribute a = attribute(w.message("AttributeProto"));
                    attrs.put(a.name(), a);
                }
                default -> w.skip();
            }
        }
        if (op.isEmpty()) throw w.error("node '" + name + "' has no op_type");
        return new Node(name, op, domain, in, out, attrs);
    }

    static Attribute attribute(Wire w) {
        String name = "", s = null;
        int type = 0;
        float f = 0;
        long i = 0;
        Value t = null;
        Wire.FloatList floats = new Wire.FloatList();
        Wire.LongList ints = new Wire.LongList();
        List<String> strings = new ArrayList<>();
        boolean graph = false;
        while (w.next()) {
            switch (w.field()) {
                case 1 -> name = w.string();
                case 20 -> type = (int) w.integer();
                case 2 -> f = w.float32();
                case 3 -> i = w.integer();
                case 4 -> s = w.string();
                case 5 -> t = tensor(w.message("TensorProto (attribute)"), null).value;
                case 6, 11 -> { graph = true; w.skip(); }
                case 7 -> w.floats(floats);
                case 8 -> w.integers(ints, false, 0);
                case 9 -> strings.add(w.string());
                default -> w.skip();
            }
        }
        if (graph || type == Attribute.GRAPH || type == 10)
            throw new UnsupportedOperationException("onnx: attribute '" + name + "' holds a subgraph; control flow (If, Loop, Scan) is not supported");
        return new Attribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), strings);
    }

    static ValueInfo valueInfo(Wire w) {
        String name = "";
        DataType type = null;
        int[] dims = null;
        boolean tensor = false;
        while (w.next()) {
            if (w.field() == 1) name = w.string();
            else if (w.field() == 2) {
                Wire tp = w.message("TypeProto");
                while (tp.next()) {
                    if (tp.field() != 1) { tp.skip(); continue; } // sequence, map, optional: not tensors
                    tensor = true;
                    Wire tt = tp.message("TypeProto.Tensor");
                    List<Integer> ds = new ArrayList<>();
                    boolean hasShape = false;
                    int elem = 0;
                    while (tt.next()) {
                        if (tt.field() == 1) elem = (int) tt.integer();
                        else if (tt.field() == 2) {
                            hasShape = true;
                            Wire sh = tt.message("TensorShapeProto");
                            while (sh.next()) {
                                if (sh.field() != 1) { sh.skip(); continue; }
                                Wire dim = sh.message("Dimension");
                                int v = -1;
                                while (dim.next()) {
                                    if (dim.field() == 1) v = (int) dim.integer();
                                    else dim.skip();
                                }
                                ds.add(v);
                            }
                        } else tt.skip();
                    }
                    try {
                        type = elem == 0 ? null : DataType.of(elem, "value '" + name + "'");
                    } catch (UnsupportedOperationException e) {
                        type = null; // reported when an op meets it
                    }
                    if (hasShape) dims = ds.stream().mapToInt(Integer::intValue).toArray();
                }
            } else w.skip();
        }
        return new ValueInfo(name, type, dims, tensor);
    }

    record NamedTensor(String name, Value value) {}

    /** Reads a TensorProto; {@code dir} resolves external data (null where external data is not allowed). */
    static NamedTensor tensor(Wire w, Path dir) {
        Wire.LongList dims = new Wire.LongList(), ints = new Wire.LongList(), int64s = new Wire.LongList(), uint64s = new Wire.LongList();
        Wire.FloatList floats = new Wire.FloatList();
        Wire.DoubleList doubles = new Wire.DoubleList();
        String name = "";
        int type = 0, location = 0;
        ByteBuffer raw = null;
        Map<String, String> external = new HashMap<>();
        boolean strings = false;
        while (w.next()) {
            switch (w.field()) {
                case 1 -> w.integers(dims, false, 0);
                case 2 -> type = (int) w.integer();
                case 3 -> throw w.error("segmented tensors are not supported");
                case 4 -> w.floats(floats);
                case 5 -> w.integers(ints, false, 0);
                case 6 -> { strings = true; w.skip(); }
                case 7 -> w.integers(int64s, false, 0);
                case 8 -> name = w.string();
                case 9 -> raw = w.bytes();
                case 10 -> w.doubles(doubles);
                case 11 -> w.integers(uint64s, false, 0);
                case 13 -> {
                    Wire e = w.message("StringStringEntryProto");
                    String k = "", v = "";
                    while (e.next()) {
                        if (e.field() == 1) k = e.string();
                        else if (e.field() == 2) v = e.string();
                        else e.skip();
                    }
                    external.put(k, v);
                }
                case 14 -> location = (int) w.integer();
                default -> w.skip();
            }
        }
        String label = "tensor '" + name + "'";
        if (strings || type == 8) throw new UnsupportedOperationException("onnx: " + label + " holds strings, which are not supported");
        DataType dt = DataType.of(type, "onnx: " + label);
        int[] shape = new int[dims.n];
        for (int i = 0; i < dims.n; i++) {
            if (dims.a[i] < 0 || dims.a[i] > Integer.MAX_VALUE) throw w.error(label + " has dimension " + dims.a[i]);
            shape[i] = (int) dims.a[i];
        }
        int n;
        try {
            n = Value.numel(shape);
        } catch (IllegalArgumentException e) {
            throw w.error(label + ": " + e.getMessage());
        }
        if (location == 1) raw = external(w, label, dir, external, (long) n * dt.bytes);
        if (raw != null) {
            if (raw.remaining() != (long) n * dt.bytes)
                throw w.error(label + " of shape " + java.util.Arrays.toString(shape) + " and type " + dt + " needs " + (long) n * dt.bytes
                        + " bytes of raw data but has " + raw.remaining());
            return new NamedTensor(name, fromRaw(dt, raw.order(ByteOrder.LITTLE_ENDIAN), shape, n));
        }
        Value v = switch (dt) {
            case FLOAT -> Value.floats(count(w, label, floats.toArray(), n, "float_data"), shape);
            case DOUBLE -> Value.doubles(count(w, label, doubles.toArray(), n, "double_data"), shape);
            case INT64 -> Value.longs(dt, count(w, label, int64s.toArray(), n, "int64_data"), shape);
            case UINT32, UINT64 -> Value.longs(dt, count(w, label, uint64s.toArray(), n, "uint64_data"), shape);
            case FLOAT16, BFLOAT16 -> {
                long[] bits = count(w, label, ints.toArray(), n, "int32_data");
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = halfToFloat(dt, (int) bits[i]);
                yield Value.floats(dt, f, shape);
            }
            default -> {
                long[] a = count(w, label, ints.toArray(), n, "int32_data");
                for (int i = 0; i < n; i++) a[i] = dt.wrap(a[i]);
                yield Value.longs(dt, a, shape);
            }
        };
        return new NamedTensor(name, v);
    }

    private static float halfToFloat(DataType dt, int bits) {
        return dt == DataType.FLOAT16 ? Float.float16ToFloat((short) bits) : Float.intBitsToFloat(bits << 16);
    }

    private static <A> A count(Wire w, String label, A data, int n, String field) {
        int len = java.lang.reflect.Array.getLength(data);
        if (len != n) throw w.error(label + " has " + len + " values in " + field + " but its shape holds " + n);
        return data;
    }

    private static Value fromRaw(DataType dt, ByteBuffer b, int[] shape, int n) {
        switch (dt) {
            case FLOAT -> {
                float[] f = new float[n];
                b.asFloatBuffer().get(f);
                return Value.floats(f, shape);
            }
            case DOUBLE -> {
                double[] d = new double[n];
                b.asDoubleBuffer().get(d);
                return Value.doubles(d, shape);
            }
            case FLOAT16, BFLOAT16 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = halfToFloat(dt, b.getShort(2 * i) & 0xffff);
                return Value.floats(dt, f, shape);
            }
            default -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) {
                    a[i] = switch (dt.bytes) {
                        case 1 -> b.get(i);
                        case 2 -> b.getShort(2 * i);
                        case 4 -> b.getInt(4 * i);
                        default -> b.getLong(8 * i);
                    };
                    a[i] = dt.wrap(a[i]);
                }
                return Value.longs(dt, a, shape);
            }
        }
    }

    /** The bytes of an external-data tensor: {@code location} relative to the model's folder, within it. */
    private static ByteBuffer external(Wire w, String label, Path dir, Map<String, String> entries, long expected) {
        if (dir == null) throw w.error(label + " refers to external data where none is allowed");
        String location = entries.get("location");
        if (location == null || location.isEmpty()) throw w.error(label + " has external data without a 'location'");
        Path file = dir.resolve(location).normalize();
        if (!file.startsWith(dir.normalize()) || Path.of(location).isAbsolute())
            throw w.error(label + ": external data location '" + location + "' is outside the model's folder");
        long offset = parseLong(w, label, entries.getOrDefault("offset", "0"), "offset");
        long length = entries.containsKey("length") ? parseLong(w, label, entries.get("length"), "length") : expected;
        if (length != expected)
            throw w.error(label + ": external data length " + length + " differs from the " + expected + " bytes its shape and type need");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (offset < 0 || offset + length > size)
                throw w.error(label + ": external data [" + offset + ", " + (offset + length) + ") lies outside '" + location + "' of " + size + " bytes");
            if (length > Integer.MAX_VALUE) throw w.error(label + ": external tensor of " + length + " bytes exceeds 2 GiB");
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length);
        } catch (IOException e) {
            throw w.error(label + ": cannot read external data '" + location + "': " + e);
        }
    }

    private static long parseLong(Wire w, String label, String s, String key) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw w.error(label + ": external data " + key + " '" + s + "' is not a number");
        }
    }

    /** Reads a standalone TensorProto file (the backend tests' input_0.pb / output_0.pb). */
    static NamedTensor readTensor(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        return tensor(new Wire(ByteBuffer.wrap(bytes), 0, "TensorProto " + file.getFileName()), file.toAbsolutePath().getParent());
    }
}
