package dev.kindling.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.models.Encoder;
import dev.kindling.onnx.OnnxEncoder;
import dev.kindling.tensor.DType;
import dev.kindling.tokenizers.Tokenizer;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kindling embed}: sentence embeddings for lines (or JSONL with a "text" field), written as JSONL. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embed texts with a Hugging Face encoder folder (config.json, model.safetensors, tokenizer.json) or an ONNX file.")
final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model folder (BERT family; quantized folders from kindling quantize too) or .onnx file.") Path model;
    @Option(names = "--tokenizer", description = "tokenizer.json (default: tokenizer.json in the model folder, or beside the .onnx file).") Path tokenizerFile;
    @Option(names = "--input", description = "Text lines or JSONL objects with a \"text\" field (default: stdin).") Path input;
    @Option(names = "--output", description = "JSONL output (default: stdout).") Path output;
    @Option(names = "--batch-size", defaultValue = "32") int batchSize;
    @Option(names = "--max-length", description = "Tokens per text (default: 512, or fewer if the model has fewer positions).") Integer maxLength;
    @Option(names = "--dtype", defaultValue = "f32", description = "f32, bf16 or f16 weights (default ${DEFAULT-VALUE}).") String dtype;
    @Option(names = "--pooling", defaultValue = "mean", description = "mean, cls or max (default ${DEFAULT-VALUE}).") String pooling;
    @Option(names = "--no-normalize", description = "Keep raw pooled vectors (default: unit length).") boolean noNormalize;
    @Option(names = "--threads") Integer threads;

    private static final int CHUNK = 1024;

    @Override
    public Integer call() throws Exception {
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
        if (maxLength != null && maxLength <= 0) throw new IllegalArgumentException("--max-length must be positive, got " + maxLength);
        boolean onnx = Files.isRegularFile(model) && model.getFileName().toString().endsWith(".onnx");
        if (!onnx && !Files.isDirectory(model)) throw new IllegalArgumentException("--model " + model + " is neither a folder nor an .onnx file");
        if (threads != null) Parallel.setThreads(threads);
        DType weights = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.FLOAT32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, got '" + dtype + "'");
        };
        Embedder.Pooling pool = switch (pooling.toLowerCase(Locale.ROOT)) {
            case "mean" -> Embedder.Pooling.MEAN;
            case "cls" -> Embedder.Pooling.CLS;
            case "max" -> Embedder.Pooling.MAX;
            default -> throw new IllegalArgumentException("--pooling must be mean, cls or max, got '" + pooling + "'");
        };
        if (onnx && weights != DType.FLOAT32)
            throw new IllegalArgumentException("--dtype " + dtype + ": ONNX models run in the types they were exported with; omit --dtype");
        Path tokPath = tokenizerFile != null ? tokenizerFile : (onnx ? model.toAbsolutePath().getParent() : model).resolve("tokenizer.json");
        if (!Files.isRegularFile(tokPath)) throw new IllegalArgumentException(tokPath + ": no tokenizer.json (give one with --tokenizer)");
        Tokenizer loadedTokenizer = Tokenizer.load(tokPath);
        ObjectMapper json = new ObjectMapper();
        try (AutoModel m = onnx ? null : AutoModel.fromPretrained(model, weights);
             BufferedReader in = input == null ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                     : Files.newBufferedReader(input, StandardCharsets.UTF_8);
             Writer out = output == null ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                     : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            Encoder encoder = onnx ? OnnxEncoder.load(model) : m.as(BertModel.class);
            int length = maxLength != null ? maxLength : Math.min(512, encoder.maxPositions());
            if (length > encoder.maxPositions())
                throw new IllegalArgumentException("--max-length " + length + " exceeds the model's " + encoder.maxPositions() + " positions");
            TextTokenizer tokenizer = TextTokenizer.of(loadedTokenizer, length);
            Embedder embedder = Embedder.builder(encoder, tokenizer).batchSize(batchSize).maxLength(length).pooling(pool)
                    .normalize(!noNormalize).build();
            List<String> chunk = new ArrayList<>();
            long index = 0, lineNo = 0;
            boolean showProgress = output != null;
            long start = System.nanoTime();
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                chunk.add(textOf(json, line, lineNo));
                if (chunk.size() == CHUNK) {
                    index = write(json, out, embedder.embed(chunk), index);
                    chunk.clear();
                    if (showProgress) System.err.printf("\rembedded %,d texts (%.0f/s)", index, index / ((System.nanoTime() - start) / 1e9));
                }
            }
            if (!chunk.isEmpty()) index = write(json, out, embedder.embed(chunk), index);
            if (showProgress) System.err.printf("\rembedded %,d texts in %.1f s%n", index, (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }

    /** A plain line is the text; a line starting with '{' is a JSON object whose "text" field is. */
    private static String textOf(ObjectMapper json, String line, long lineNo) {
        if (!line.stripLeading().startsWith("{")) return line;
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (Exception e) {
            throw new IllegalArgumentException("input line " + lineNo + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        JsonNode text = node.get("text");
        if (text == null || !text.isTextual()) throw new IllegalArgumentException("input line " + lineNo + ": no string \"text\" field");
        return text.asText();
    }

    private static long write(ObjectMapper json, Writer out, List<float[]> vectors, long index) throws java.io.IOException {
        for (float[] v : vectors) {
            StringBuilder sb = new StringBuilder("{\"index\":").append(index++).append(",\"embedding\":[");
            for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ",").append(v[i]);
            out.write(sb.append("]}\n").toString());
        }
        out.flush();
        return index;
    }
}
