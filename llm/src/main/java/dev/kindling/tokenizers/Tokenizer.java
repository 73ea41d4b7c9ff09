package dev.kindling.tokenizers;

import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;

/** Text to token ids and back. Saved and loaded as Hugging Face tokenizer.json. */
public interface Tokenizer {
    int[] encode(String text);

    String decode(int[] ids);

    int vocabSize();

    /** The end-of-text token, when the tokenizer has one. */
    OptionalInt eosTokenId();

    /** Writes tokenizer.json. */
    void save(Path tokenizerJson) throws IOException;

    /** Reads a tokenizer.json written by Kindling (char-level or byte-level BPE). */
    static Tokenizer load(Path tokenizerJson) throws IOException {
        String text = Files.readString(tokenizerJson, StandardCharsets.UTF_8);
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IOException(tokenizerJson + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> m) || !(m.get("model") instanceof Map<?, ?> model))
            throw new IOException(tokenizerJson + ": no \"model\" object; not a tokenizer.json");
        Object kind = model.get("type");
        if ("BPE".equals(kind) && CharTokenizer.isCharLevel(m)) return CharTokenizer.fromJson(m, tokenizerJson);
        throw new IOException(tokenizerJson + ": unsupported tokenizer model type " + kind);
    }
}
