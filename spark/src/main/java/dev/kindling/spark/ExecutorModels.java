package dev.kindling.spark;

import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptLoader;
import dev.kindling.tokenizers.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Models and tokenizers loaded once per executor JVM and shared by all its tasks (and later jobs): a task asks
 * for a folder and gets the instance loaded by the first task that asked. A folder on a remote file system is
 * copied to a local temporary folder first. Loaded models stay until the JVM exits.
 */
final class ExecutorModels {
    private static final Map<String, Object> CACHE = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorModels() {
    }

    /** A GPT and its tokenizer. */
    record LoadedGpt(Gpt model, Tokenizer tokenizer) {}

    /** How many models and tokenizers this JVM has loaded (for tests: tasks must share them). */
    static int loads() {
        return LOADS.get();
    }

    static Embedder embedder(HadoopFiles files, String modelDir, EmbedOptions o) {
        return get("embed|" + modelDir + "|" + o, () -> {
            Path dir = localFolder(files, modelDir);
            AutoModel auto = AutoModel.fromPretrained(dir, o.dtype()); // kept open: the mapping lives as long as the JVM
            BertModel bert = auto.as(BertModel.class);
            int maxLength = Math.min(o.maxLength(), bert.config.maxPositionEmbeddings());
            TextTokenizer tokenizer = TextTokenizer.of(Tokenizer.load(requireFile(dir, "tokenizer.json")), maxLength);
            return Embedder.builder(bert, tokenizer).batchSize(o.batchSize()).maxLength(maxLength).pooling(o.pooling())
                    .normalize(o.normalize()).build();
        });
    }

    static LoadedGpt gpt(HadoopFiles files, String modelDir) {
        return get("gpt|" + modelDir, () -> {
            Path dir = localFolder(files, modelDir);
            return new LoadedGpt(GptLoader.load(dir), Tokenizer.load(requireFile(dir, "tokenizer.json")));
        });
    }

    /** The tokenizer.json in {@code dir} (a Hadoop URI). */
    static Tokenizer tokenizer(HadoopFiles files, String dir) {
        return get("tokenizer|" + dir, () -> Tokenizer.load(requireFile(localFolder(files, dir), "tokenizer.json")));
    }

    private interface Loader<T> {
        T load() throws IOException;
    }

    @SuppressWarnings("unchecked")
    private static <T> T get(String key, Loader<T> loader) {
        return (T) CACHE.computeIfAbsent(key, k -> {
            try {
                LOADS.incrementAndGet();
                return loader.load();
            } catch (IOException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        });
    }

    private static Path requireFile(Path dir, String name) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) throw new IOException(dir + ": no " + name);
        return f;
    }

    /** The folder itself when it is on this machine's file system, else a local copy of its files. */
    private static Path localFolder(HadoopFiles files, String uri) throws IOException {
        if (HadoopFiles.isLocal(uri)) {
            Path p = uri.startsWith("file:") ? Path.of(java.net.URI.create(uri)) : Path.of(uri);
            if (!Files.isDirectory(p)) throw new IOException(uri + " is not a folder on this executor");
            return p;
        }
        Path local = Files.createTempDirectory("kindling-model-");
        files.downloadFolder(uri, local);
        return local;
    }
}
