package dev.kindling.tokenizers;

import dev.kindling.io.AtomicFiles;
import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reading and writing the Hugging Face {@code tokenizer.json} envelope, with errors that name file and field. */
final class TokenizerJson {
    private TokenizerJson() {}

    /** Parses the file; it must hold a JSON object. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        Object root;
        try {
            root = Json.parse(bytes);
        } catch (Json.JsonException e) {
            throw new FileFormatException("tokenizer.json: " + file + ": malformed JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw new FileFormatException("tokenizer.json: " + file + ": the top level is " + kind(root)
                    + ", not an object");
        }
        return (Map<String, Object>) root;
    }

    /** The fields every tokenizer.json has, in Hugging Face's order, around the given parts. */
    static Map<String, Object> envelope(List<Object> addedTokens, Object preTokenizer, Object decoder,
                                        Map<String, Object> model) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", addedTokens);
        root.put("normalizer", null);
        root.put("pre_tokenizer", preTokenizer);
        root.put("post_processor", null);
        root.put("decoder", decoder);
        root.put("model", model);
        return root;
    }

    static void write(Path file, Map<String, Object> root) throws IOException {
        byte[] bytes = Json.write(root).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    static String kind(Object v) {
        return switch (v) {
            case null -> "null";
            case Map<?, ?> m -> "an object";
            case List<?> l -> "an array";
            case String s -> "a string";
            case Boolean b -> "a boolean";
            default -> "a number";
        };
    }

    /** {@code v} as an object, or an error naming {@code where}. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> asObject(Object v, Reader r, String where) throws FileFormatException {
        if (v instanceof Map) return (Map<String, Object>) v;
        throw r.error(where + " is " + kind(v) + ", not an object");
    }

    /** Typed access to fields; every failure becomes a {@link FileFormatException} naming the file and field. */
    static class Reader {
        final Path file;

        Reader(Path file) {
            this.file = file;
        }

        FileFormatException error(String message) {
            return new FileFormatException("tokenizer.json: " + file + ": " + message);
        }

        /** The object at {@code key} of {@code parent}, which is at path {@code where} (null for the top level). */
        @SuppressWarnings("unchecked")
        Map<String, Object> object(Map<String, Object> parent, String key, String where) throws FileFormatException {
            Object v = parent.get(key);
            if (v instanceof Map) return (Map<String, Object>) v;
            String name = where == null ? key : where + "." + key;
            throw error(v == null && !parent.containsKey(key) ? "no \"" + name + "\" object"
                    : "\"" + name + "\" is " + kind(v) + ", not an object");
        }

        /** The object at {@code key}, or null when the field is absent or null. */
        @SuppressWarnings("unchecked")
        Map<String, Object> optionalObject(Map<String, Object> parent, String key) throws FileFormatException {
            Object v = parent.get(key);
            if (v == null || v instanceof Map) return (Map<String, Object>) v;
            throw error("\"" + key + "\" is " + kind(v) + ", not an object or null");
        }

        String string(Map<String, Object> parent, String key, String where) throws FileFormatException {
            Object v = parent.get(key);
            if (v instanceof String s) return s;
            throw error(where + "." + key + " is " + (parent.containsKey(key) ? kind(v) : "missing")
                    + ", expected a string");
        }

        List<?> list(Map<String, Object> parent, String key, String where) throws FileFormatException {
            Object v = parent.get(key);
            if (v instanceof List<?> l) return l;
            throw error(where + "." + key + " is " + (parent.containsKey(key) ? kind(v) : "missing")
                    + ", expected an array");
        }

        /** A boolean field that may be absent (then {@code absent}). */
        boolean flag(Map<String, Object> parent, String key, String where, boolean absent)
                throws FileFormatException {
            Object v = parent.get(key);
            if (v == null) return absent;
            if (v instanceof Boolean b) return b;
            throw error(where + "." + key + " is " + kind(v) + ", expected true or false");
        }

        /** A token id: a non-negative integer that fits an int. */
        int id(Object v, String where) throws FileFormatException {
            if (v instanceof Long l && l >= 0 && l <= Integer.MAX_VALUE) return (int) (long) l;
            throw error(where + " is " + (v instanceof Long || v instanceof Double ? v : kind(v))
                    + ", expected a token id (an integer from 0)");
        }
    }
}
