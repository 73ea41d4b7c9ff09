package dev.kindling.tokenizers;

import dev.kindling.io.AtomicFiles;
import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * One token per character (Unicode code point), vocabulary = the sorted distinct characters of a corpus, as
 * nanoGPT's shakespeare_char. Saved as a Hugging Face tokenizer.json whose model is a BPE without merges
 * (so each character maps to its id) with a Fuse decoder, which the transformers library also reads.
 */
public final class CharTokenizer implements Tokenizer {
    private final int[] codePoints;            // id -> code point
    private final Map<Integer, Integer> ids;   // code point -> id

    private CharTokenizer(int[] codePoints) {
        this.codePoints = codePoints;
        this.ids = new LinkedHashMap<>();
        for (int i = 0; i < codePoints.length; i++) {
            if (ids.put(codePoints[i], i) != null)
                throw new IllegalArgumentException("CharTokenizer: character '" + Character.toString(codePoints[i]) + "' appears twice in the vocabulary");
        }
    }

    /** The distinct characters of {@code corpus}, sorted by code point. */
    public static CharTokenizer fromText(String corpus) {
        if (corpus.isEmpty()) throw new IllegalArgumentException("CharTokenizer: empty corpus");
        TreeSet<Integer> set = new TreeSet<>();
        corpus.codePoints().forEach(set::add);
        return new CharTokenizer(set.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override
    public int[] encode(String text) {
        int[] cps = text.codePoints().toArray();
        int[] out = new int[cps.length];
        for (int i = 0; i < cps.length; i++) {
            Integer id = ids.get(cps[i]);
            if (id == null)
                throw new IllegalArgumentException("CharTokenizer: character '" + Character.toString(cps[i]) + "' (U+"
                        + String.format("%04X", cps[i]) + ") at position " + i + " is not in the vocabulary");
            out[i] = id;
        }
        return out;
    }

    @Override
    public String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder(tokens.length);
        for (int t : tokens) {
            if (t < 0 || t >= codePoints.length)
                throw new IllegalArgumentException("CharTokenizer: id " + t + " is outside the vocabulary of " + codePoints.length);
            sb.appendCodePoint(codePoints[t]);
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    @Override
    public OptionalInt eosTokenId() {
        return OptionalInt.empty();
    }

    @Override
    public void save(Path file) throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int i = 0; i < codePoints.length; i++) vocab.put(Character.toString(codePoints[i]), (long) i);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("vocab", vocab);
        model.put("merges", List.of());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", List.of());
        root.put("normalizer", null);
        root.put("pre_tokenizer", null);
        root.put("post_processor", null);
        root.put("decoder", Map.of("type", "Fuse"));
        root.put("model", model);
        String json = Json.write(root);
        AtomicFiles.write(file, out -> out.write(json.getBytes(StandardCharsets.UTF_8)));
    }

    /** A char-level tokenizer.json: a BPE model with no merges and single-character tokens. */
    static boolean isCharLevel(Map<?, ?> root) {
        if (!(root.get("model") instanceof Map<?, ?> model)) return false;
        if (!(model.get("merges") instanceof List<?> merges) || !merges.isEmpty()) return false;
        if (!(model.get("vocab") instanceof Map<?, ?> vocab)) return false;
        for (Object k : vocab.keySet()) if (!(k instanceof String s) || s.codePointCount(0, s.length()) != 1) return false;
        return true;
    }

    static CharTokenizer fromJson(Map<?, ?> root, Path file) throws IOException {
        Map<?, ?> vocab = (Map<?, ?>) ((Map<?, ?>) root.get("model")).get("vocab");
        int[] cps = new int[vocab.size()];
        boolean[] seen = new boolean[vocab.size()];
        for (var e : vocab.entrySet()) {
            if (!(e.getValue() instanceof Number n) || n.longValue() < 0 || n.longValue() >= cps.length || seen[n.intValue()])
                throw new IOException(file + ": vocab id " + e.getValue() + " for '" + e.getKey() + "' is not a unique id in [0, " + cps.length + ")");
            seen[n.intValue()] = true;
            cps[n.intValue()] = ((String) e.getKey()).codePointAt(0);
        }
        return new CharTokenizer(cps);
    }

}
