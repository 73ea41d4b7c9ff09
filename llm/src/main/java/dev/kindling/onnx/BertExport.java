package dev.kindling.onnx;

import dev.kindling.io.Json;
import dev.kindling.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a BERT encoder exported by torch.onnx (Hugging Face / sentence-transformers naming) back into a Hugging Face
 * folder: initializers named after the module keep their names; each MatMul weight, which the exporter stores as
 * an anonymous [in, out] initializer, is named after its node ("/encoder/layer.0/attention/self/query/MatMul" →
 * "encoder.layer.0.attention.self.query.weight") and transposed to Linear's [out, in]. The number of heads comes
 * from the constant head count and size in the first attention block's reshape.
 */
final class BertExport {
    private BertExport() {}

    private static final Pattern MATMUL = Pattern.compile("/(encoder/layer\\.\\d+/[a-z_/]+)/MatMul");

    static void write(Path onnxFile, Path dir) throws IOException {
        Proto.Graph g = Proto.readModel(onnxFile).graph();
        Map<String, Value> init = g.initializers();
        Map<String, Value> constants = new LinkedHashMap<>(init);
        for (Proto.Node n : g.nodes())
            if (n.opType().equals("Constant") && n.attributes().containsKey("value")) constants.put(n.outputs().get(0), n.attributes().get("value").t());
        Map<String, SafetensorsWriter.Entry> out = new TreeMap<>();
        for (var e : init.entrySet())
            if ((e.getKey().startsWith("embeddings.") && !e.getKey().endsWith("position_ids")) || e.getKey().startsWith("encoder."))
                out.put(e.getKey(), entry(e.getValue()));
        TreeSet<Integer> layers = new TreeSet<>();
        Integer heads = null;
        for (Proto.Node n : g.nodes()) {
            Matcher m = MATMUL.matcher(n.name());
            if (n.opType().equals("MatMul") && m.matches() && init.containsKey(n.inputs().get(1))) {
                Value w = init.get(n.inputs().get(1));
                if (w.rank() != 2 || w.type != DataType.FLOAT) throw new IllegalArgumentException("onnx: " + n.name() + ": weight " + w + " is not a 2-D FLOAT matrix");
                String name = m.group(1).replace('/', '.') + ".weight";
                out.put(name, entry(ShapeOps.transpose(w, new int[] {1, 0})));
                layers.add(Integer.parseInt(name.split("\\.")[2]));
            }
            if (heads == null && n.opType().equals("Concat") && n.name().equals("/encoder/layer.0/attention/self/Concat") && n.inputs().size() == 4) {
                Value h = constants.get(n.inputs().get(2));
                if (h != null && h.l != null) heads = (int) h.l[0];
            }
        }
        Value word = init.get("embeddings.word_embeddings.weight"), pos = init.get("embeddings.position_embeddings.weight"),
                types = init.get("embeddings.token_type_embeddings.weight"), inter = init.get("encoder.layer.0.intermediate.dense.bias");
        if (word == null || pos == null || types == null || inter == null || layers.isEmpty() || heads == null)
            throw new IllegalArgumentException("onnx: " + onnxFile.getFileName() + " does not look like a torch.onnx BERT export (embeddings, "
                    + "encoder.layer.N MatMuls, the attention reshape's head count)");
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("model_type", "bert");
        config.put("architectures", java.util.List.of("BertModel"));
        config.put("vocab_size", word.shape[0]);
        config.put("hidden_size", word.shape[1]);
        config.put("num_hidden_layers", layers.size());
        config.put("num_attention_heads", heads);
        config.put("intermediate_size", inter.shape[0]);
        config.put("max_position_embeddings", pos.shape[0]);
        config.put("type_vocab_size", types.shape[0]);
        config.put("hidden_act", "gelu");
        config.put("layer_norm_eps", 1e-12);
        Files.createDirectories(dir);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), out, Map.of("format", "pt"));
        Files.writeString(dir.resolve("config.json"), Json.write(config));
    }

    private static SafetensorsWriter.Entry entry(Value v) {
        long[] shape = new long[v.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = v.shape[i];
        return SafetensorsWriter.Entry.ofFloats(shape, v.f);
    }
}
