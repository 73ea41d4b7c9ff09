package dev.kindling.data;

import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenised corpus split into shards: a folder of {@link TokenFile}s, a {@code tokenizer.json} and a
 * {@code manifest.json} listing the shards in corpus order with their token counts. Written in parallel (one
 * shard per Spark partition by {@code KindlingSpark.tokenize}); read back whole by {@link #readAll}, which is how
 * {@code kindling train gpt --data FOLDER} takes it.
 * <pre>{@code
 * {"format": "kindling-token-shards", "version": 1, "tokenizer": "tokenizer.json", "vocab_size": 65,
 *  "total_tokens": 1115394, "shards": [{"file": "shard-00000.bin", "tokens": 557697, "rows": 20000, "skipped_rows": 0}, ...]}
 * }</pre>
 */
public final class TokenShards {
    /** The manifest's file name. */
    public static final String MANIFEST = "manifest.json";
    /** The tokenizer's file name in the folder. */
    public static final String TOKENIZER = "tokenizer.json";
    private static final String FORMAT = "kindling-token-shards";

    private TokenShards() {
    }

    /**
     * One shard: its file name in the folder, its token count, the rows it came from and the rows left out
     * (null text, or text the tokenizer could not encode).
     */
    public record Shard(String file, long tokens, long rows, long skippedRows) implements java.io.Serializable {}

    /** The manifest text for these shards (in corpus order). */
    public static String manifest(List<Shard> shards, int vocabSize) {
        long total = 0;
        List<Object> list = new ArrayList<>();
        for (Shard s : shards) {
            total += s.tokens();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", s.file());
            m.put("tokens", s.tokens());
            m.put("rows", s.rows());
            m.put("skipped_rows", s.skippedRows());
            list.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("tokenizer", TOKENIZER);
        root.put("vocab_size", vocabSize);
        root.put("total_tokens", total);
        root.put("shards", list);
        return Json.write(root) + "\n";
    }

    /** Whether {@code folder} holds a manifest. */
    public static boolean isShardFolder(Path folder) {
        return Files.isRegularFile(folder.resolve(MANIFEST));
    }

    /**
     * The shards listed by the folder's manifest.
     *
     * @throws IOException naming the manifest and the field if it is missing, malformed or of another format
     */
    public static List<Shard> readManifest(Path folder) throws IOException {
        Path file = folder.resolve(MANIFEST);
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> root) || !FORMAT.equals(root.get("format")))
            throw new IOException(file + ": not a token shard manifest (\"format\" must be \"" + FORMAT + "\")");
        if (!(root.get("shards") instanceof List<?> list)) throw new IOException(file + ": no \"shards\" list");
        List<Shard> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> m) || !(m.get("file") instanceof String name) || !(m.get("tokens") instanceof Number tokens))
                throw new IOException(file + ": shard " + i + " needs a string \"file\" and a number \"tokens\"");
            if (name.contains("/") || name.contains("\\") || name.startsWith("."))
                throw new IOException(file + ": shard " + i + " file '" + name + "' must be a plain name inside the folder");
            out.add(new Shard(name, tokens.longValue(), number(m.get("rows")), number(m.get("skipped_rows"))));
        }
        return out;
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    /**
     * Every shard's ids concatenated in manifest order.
     *
     * @throws IOException if a shard is missing, or holds another number of tokens than the manifest says
     */
    public static int[] readAll(Path folder) throws IOException {
        List<Shard> shards = readManifest(folder);
        long total = 0;
        for (Shard s : shards) total += s.tokens();
        if (total > Integer.MAX_VALUE - 8) throw new IOException(folder + ": " + total + " tokens are too many to read into one array");
        int[] ids = new int[(int) total];
        int at = 0;
        for (Shard s : shards) {
            try (TokenFile f = TokenFile.open(folder.resolve(s.file()))) {
                if (f.size() != s.tokens())
                    throw new IOException(folder.resolve(s.file()) + ": holds " + f.size() + " tokens but " + MANIFEST + " says " + s.tokens());
                for (long i = 0; i < f.size(); i++) ids[at++] = f.get(i);
            }
        }
        return ids;
    }
}
