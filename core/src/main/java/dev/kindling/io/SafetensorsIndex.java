package dev.kindling.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a model folder, whether in one {@code model.safetensors} or sharded the Hugging Face way:
 * {@code model.safetensors.index.json} = {@code {"metadata": {...}, "weight_map": {"name":
 * "model-00001-of-00002.safetensors", ...}}} next to the shards.
 *
 * <p>{@link #open} opens (maps) every shard once and checks that each shard really holds the tensors the index
 * assigns to it. Closing the index closes the shards.
 */
public final class SafetensorsIndex implements AutoCloseable {
    /** File name of the sharded-checkpoint index in a Hugging Face model folder. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** File name of the single-file checkpoint in a Hugging Face model folder. */
    public static final String SINGLE_FILE = "model.safetensors";

    private static final long MAX_INDEX_BYTES = 100_000_000L;

    private final Path source;
    private final Map<String, String> metadata;
    private final Map<String, SafetensorsFile> byName;
    private final List<SafetensorsFile> shards;

    private SafetensorsIndex(Path source, Map<String, String> metadata, Map<String, SafetensorsFile> byName,
            List<SafetensorsFile> shards) {
        this.source = source;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.byName = Collections.unmodifiableMap(byName);
        this.shards = List.copyOf(shards);
    }

    /**
     * Opens a model's weights from {@code path}: a folder holding {@value #INDEX_FILE} (preferred) or
     * {@value #SINGLE_FILE}, an index JSON file itself, or a single {@code .safetensors} file.
     *
     * @throws FileFormatException if the index is malformed, names a shard outside its folder, or a shard lacks a
     *     tensor the index promises (or any shard is not valid safetensors)
     * @throws IOException if a file cannot be read, e.g. a shard is missing
     */
    public static SafetensorsIndex open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) return openIndex(index);
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) return openSingle(single);
            throw new NoSuchFileException(path.toString(), null,
                    "safetensors: folder has neither " + INDEX_FILE + " nor " + SINGLE_FILE);
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".json")) return openIndex(path);
        return openSingle(path);
    }

    private static SafetensorsIndex openSingle(Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        for (TensorInfo t : f.tensors()) byName.put(t.name(), f);
        return new SafetensorsIndex(file, Map.of(), byName, List.of(f));
    }

    private static SafetensorsIndex openIndex(Path index) throws IOException {
        long size = Files.size(index);
        if (size > MAX_INDEX_BYTES) {
            throw indexError(index, "is " + size + " bytes, over the limit of " + MAX_INDEX_BYTES);
        }
        Object root;
        try {
            root = Json.parse(Files.readAllBytes(index));
        } catch (Json.JsonException e) {
            throw indexError(index, "is not valid JSON: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> top)) throw indexError(index, "is not a JSON object");
        if (!(top.get("weight_map") instanceof Map<?, ?> weightMap)) {
            throw indexError(index, "has no \"weight_map\" object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Object meta = top.get("metadata");
        if (meta instanceof Map<?, ?> m) {
            // Values are usually numbers ({"total_size": 123}): keep their JSON text, the API stays Map<String,String>.
            for (Map.Entry<?, ?> e : m.entrySet()) {
                metadata.put((String) e.getKey(),
                        e.getValue() instanceof String s ? s : Json.write(e.getValue()));
            }
        } else if (meta != null) {
            throw indexError(index, "has \"metadata\" that is not an object");
        }

        Path folder = index.toAbsolutePath().getParent().normalize();
        Map<String, SafetensorsFile> openedShards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Map.Entry<?, ?> e : weightMap.entrySet()) {
                String name = (String) e.getKey();
                if (!(e.getValue() instanceof String shardName)) {
                    throw indexError(index, "maps tensor '" + name + "' to a non-string");
                }
                SafetensorsFile shard = openedShards.get(shardName);
                if (shard == null) {
                    Path shardPath = folder.resolve(shardName).normalize();
                    // An index from the internet must not make us map arbitrary files (../../etc/...).
                    if (shardName.isEmpty() || !shardPath.startsWith(folder) || shardPath.equals(folder)) {
                        throw indexError(index, "maps tensor '" + name + "' to shard '" + shardName
                                + "', which is not a file inside the index's folder");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    openedShards.put(shardName, shard);
                }
                if (!shard.contains(name)) {
                    throw indexError(index, "says tensor '" + name + "' is in " + shardName + " but that shard has "
                            + "no such tensor (it has " + shard.tensors().size() + ")");
                }
                byName.put(name, shard);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : openedShards.values()) f.close();
            throw e;
        }
        return new SafetensorsIndex(index, metadata, byName, new ArrayList<>(openedShards.values()));
    }

    private static FileFormatException indexError(Path index, String message) {
        return new FileFormatException("safetensors index: " + index + " " + message);
    }

    /** The index or single file this was opened from. */
    public Path source() {
        return source;
    }

    /**
     * The index's {@code "metadata"} (e.g. {@code total_size}), string values as they are and other values as
     * their JSON text; empty for a single file.
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Every tensor name, in index order (file order for a single file). */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /** Whether some shard holds {@code name}. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /**
     * The opened shard holding tensor {@code name}; read the tensor with its {@code segment(name)},
     * {@code readFloats(name)}, ...
     *
     * @throws IllegalArgumentException naming the tensor if no shard holds it
     */
    public SafetensorsFile file(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new IllegalArgumentException("safetensors: " + source + " has no tensor '" + name + "' ("
                    + byName.size() + " tensors in " + shards.size() + " file(s))");
        }
        return f;
    }

    /** The header entry of tensor {@code name}, from its shard. */
    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** Every opened file, in the order the index first mentions them. */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** Closes every shard. */
    @Override
    public void close() {
        for (SafetensorsFile f : shards) f.close();
    }

    @Override
    public String toString() {
        return "SafetensorsIndex[" + source + ", " + byName.size() + " tensors in " + shards.size() + " file(s)]";
    }
}
