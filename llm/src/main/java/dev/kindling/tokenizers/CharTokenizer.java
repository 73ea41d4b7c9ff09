package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * One token per Unicode code point, over a fixed alphabet: nanoGPT's shakespeare_char tokenizer. Ids follow the
 * code points in ascending order, so {@code fromText} of the same corpus always gives the same ids.
 *
 * <p>Saved as a Hugging Face {@code tokenizer.json} that Hugging Face itself can load: a "WordLevel" model whose
 * vocabulary is the characters, a "Split" pre-tokenizer that isolates every character (pattern
 * {@code [\s\S]}), and a "Fuse" decoder that joins them back without spaces. A character outside the alphabet
 * is an error here and in Hugging Face (whose unk_token "&lt;unk&gt;" is not in the vocabulary).
 */
public final class CharTokenizer implements Tokenizer {
    static final String SPLIT_PATTERN = "[\\s\\S]";
    private static final String UNK = "<unk>";

    private final int[] codePoints; // id -> code point
    private final int[] bmpIds; // code point < 65536 -> id, or -1
    private final Map<Integer, Integer> supplementaryIds; // code point >= 65536 -> id

    private CharTokenizer(int[] codePoints) {
        this.codePoints = codePoints;
        bmpIds = new int[65536];
        Arrays.fill(bmpIds, -1);
        supplementaryIds = new HashMap<>();
        for (int id = 0; id < codePoints.length; id++) {
            int cp = codePoints[id];
            if (cp < 65536) bmpIds[cp] = id;
            else supplementaryIds.put(cp, id);
        }
    }

    /**
     * The tokenizer whose alphabet is every code point in {@code corpus}, ids in code-point order.
     *
     * @throws IllegalArgumentException if the corpus is empty or holds a lone surrogate (not a character)
     */
    public static CharTokenizer fromText(String corpus) {
        if (corpus.isEmpty()) throw new IllegalArgumentException("CharTokenizer.fromText: the corpus is empty");
        int[] cps = corpus.codePoints().distinct().sorted().toArray();
        for (int cp : cps) {
            if (Character.isSurrogate((char) cp) && cp < 65536) {
                int at = corpus.indexOf(cp);
                throw new IllegalArgumentException(String.format(
                        "CharTokenizer.fromText: lone surrogate U+%04X at index %d is not a character", cp, at));
            }
        }
        return new CharTokenizer(cps);
    }

    @Override
    public int[] encode(String text) {
        int[] ids = new int[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int id = cp < 65536 ? bmpIds[cp] : supplementaryIds.getOrDefault(cp, -1);
            if (id < 0) {
                throw new IllegalArgumentException(String.format(
                        "CharTokenizer.encode: character %s (U+%04X) at index %d is not in the vocabulary of %d "
                                + "characters", describe(cp), cp, i, codePoints.length));
            }
            ids[n++] = id;
            i += Character.charCount(cp);
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    private static String describe(int cp) {
        if (Character.isISOControl(cp) || Character.isWhitespace(cp) || Character.isSurrogate((char) cp)
                && cp < 65536) {
            return "'" + switch (cp) {
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> String.format("\\u%04x", cp);
            } + "'";
        }
        return "'" + Character.toString(cp) + "'";
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= codePoints.length) {
                throw new IllegalArgumentException("CharTokenizer.decode: id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + codePoints.length + ")");
            }
            sb.appendCodePoint(codePoints[id]);
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    /** Always empty: a character vocabulary has no end-of-text token. */
    @Override
    public OptionalInt eosTokenId() {
        return OptionalInt.empty();
    }

    @Override
    public void save(Path tokenizerJson) throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < codePoints.length; id++) vocab.put(Character.toString(codePoints[id]), (long) id);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "WordLevel");
        model.put("vocab", vocab);
        model.put("unk_token", UNK);
        Map<String, Object> pattern = new LinkedHashMap<>();
        pattern.put("Regex", SPLIT_PATTERN);
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("type", "Split");
        split.put("pattern", pattern);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        TokenizerJson.write(tokenizerJson,
                TokenizerJson.envelope(List.of(), split, Map.of("type", "Fuse"), model));
    }

    /**
     * Whether {@code root} is the character tokenizer.json that Kindling wrote before this format: model "BPE"
     * with no merges and single-character tokens, no pre-tokenizer (a byte-level BPE always has one).
     */
    static boolean isMergelessCharacterBpe(Map<String, Object> root) {
        if (!(root.get("model") instanceof Map<?, ?> model) || root.get("pre_tokenizer") != null) return false;
        if (!(model.get("merges") instanceof List<?> merges) || !merges.isEmpty()) return false;
        if (!(model.get("vocab") instanceof Map<?, ?> vocab) || vocab.isEmpty()) return false;
        for (Object k : vocab.keySet()) {
            if (!(k instanceof String s) || s.isEmpty() || s.codePointCount(0, s.length()) != 1) return false;
        }
        return true;
    }

    /**
     * Reads what {@link #save} writes (model "WordLevel"), or the older merge-less "BPE" form
     * ({@link #isMergelessCharacterBpe}).
     */
    static CharTokenizer fromHuggingFace(Map<String, Object> root, TokenizerJson.Reader r) throws IOException {
        Map<String, Object> model = r.object(root, "model", null);
        Map<String, Object> pre = r.optionalObject(root, "pre_tokenizer");
        boolean perCharacter = isMergelessCharacterBpe(root) || pre != null && "Split".equals(pre.get("type"))
                && pre.get("pattern") instanceof Map<?, ?> p && SPLIT_PATTERN.equals(p.get("Regex"))
                && "Isolated".equals(pre.get("behavior")) && !Boolean.TRUE.equals(pre.get("invert"));
        if (!perCharacter) {
            throw r.error("a WordLevel model is read only as a character vocabulary, whose pre_tokenizer is "
                    + "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" + SPLIT_PATTERN.replace("\\", "\\\\")
                    + "\"}, \"behavior\": \"Isolated\"}; this file has " + Json.write(pre));
        }
        if (r.optionalObject(root, "normalizer") != null) {
            throw r.error("normalizer " + Json.write(root.get("normalizer")) + " is not supported with a "
                    + "character vocabulary");
        }
        if (root.get("added_tokens") instanceof List<?> added && !added.isEmpty()) {
            throw r.error("a character vocabulary has no added tokens, this file has " + added.size());
        }
        Map<String, Object> vocab = r.object(model, "vocab", "model");
        if (vocab.isEmpty()) throw r.error("model.vocab is empty");
        int[] cps = new int[vocab.size()];
        Arrays.fill(cps, -1);
        for (Map.Entry<String, Object> e : vocab.entrySet()) {
            String token = e.getKey();
            int id = r.id(e.getValue(), "model.vocab[\"" + token + "\"]");
            if (token.isEmpty() || token.codePointCount(0, token.length()) != 1) {
                throw r.error("model.vocab entry \"" + token + "\" (id " + id + ") is not a single character");
            }
            if (id >= cps.length) {
                throw r.error("model.vocab entry \"" + token + "\" has id " + id + " but the vocabulary has only "
                        + cps.length + " entries (ids must be 0.." + (cps.length - 1) + ")");
            }
            if (cps[id] >= 0) {
                throw r.error("model.vocab gives id " + id + " to both \"" + Character.toString(cps[id])
                        + "\" and \"" + token + "\"");
            }
            cps[id] = token.codePointAt(0);
        }
        return new CharTokenizer(cps);
    }

    @Override
    public String toString() {
        return "CharTokenizer(vocabSize=" + codePoints.length + ")";
    }
}
