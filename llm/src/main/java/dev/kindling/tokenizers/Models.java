package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The "model" part of a {@code tokenizer.json}: one pre-tokenized word → ids. WordPiece, BPE and Unigram. */
final class Models {
    private Models() {}

    /** A vocabulary and the algorithm that cuts a word into its tokens. */
    abstract static class Model {
        /** id → token text; may hold nulls where only added tokens have ids. */
        final String[] tokens;
        final Map<String, Integer> vocab;

        Model(Map<String, Integer> vocab) {
            this.vocab = vocab;
            int max = -1;
            for (int id : vocab.values()) max = Math.max(max, id);
            tokens = new String[max + 1];
            for (Map.Entry<String, Integer> e : vocab.entrySet()) tokens[e.getValue()] = e.getKey();
        }

        /** Appends the ids of {@code word}, a non-empty piece of pre-tokenized text. */
        abstract void tokenize(String word, ByteLevelBpeTokenizer.IntList out);
    }

    static Model of(Map<String, Object> json, TokenizerJson.Reader r) throws FileFormatException {
        String type = r.string(json, "type", "model");
        return switch (type) {
            case "WordPiece" -> new WordPiece(json, r);
            case "BPE" -> new Bpe(json, r);
            case "Unigram" -> new Unigram(json, r);
            default -> throw r.error("model: unknown model type '" + type + "' (supported: WordPiece, BPE, Unigram)");
        };
    }

    private static Map<String, Integer> vocab(Map<String, Object> json, TokenizerJson.Reader r)
            throws FileFormatException {
        Map<String, Object> v = r.object(json, "vocab", "model");
        Map<String, Integer> vocab = new HashMap<>(v.size() * 2);
        boolean[] seen = new boolean[0];
        for (Map.Entry<String, Object> e : v.entrySet()) {
            int id = r.id(e.getValue(), "model.vocab[" + ByteLevelBpeTokenizer.quote(e.getKey()) + "]");
            if (id >= seen.length) seen = java.util.Arrays.copyOf(seen, Math.max(id + 1, seen.length * 2));
            if (seen[id]) throw r.error("model.vocab: id " + id + " is given to two tokens, one of them "
                    + ByteLevelBpeTokenizer.quote(e.getKey()));
            seen[id] = true;
            vocab.put(e.getKey(), id);
        }
        if (vocab.isEmpty()) throw r.error("model.vocab is empty");
        return vocab;
    }

    private static String optionalString(Map<String, Object> json, String key, TokenizerJson.Reader r)
            throws FileFormatException {
        Object v = json.get(key);
        if (v == null || v instanceof String) return (String) v;
        throw r.error("model." + key + " is " + TokenizerJson.kind(v) + ", expected a string or null");
    }

    private static int unkId(Map<String, Integer> vocab, String unk, TokenizerJson.Reader r)
            throws FileFormatException {
        if (unk == null) return -1;
        Integer id = vocab.get(unk);
        if (id == null) throw r.error("model.unk_token " + ByteLevelBpeTokenizer.quote(unk) + " is not in model.vocab");
        return id;
    }

    // ------------------------------------------------------------------------------------------------ WordPiece

    /**
     * BERT's WordPiece: greedy longest match from the left; pieces after the first carry the continuing-subword
     * prefix ("##"); a word with any unmatched rest, or longer than max_input_chars_per_word characters, is one
     * unknown token.
     */
    static final class WordPiece extends Model {
        private final int unk;
        private final int maxChars;
        private final Map<String, Integer> continuing = new HashMap<>(); // tokens with the prefix, keyed without it
        private final int longest; // the longest token, in chars, so matching starts no further than that

        WordPiece(Map<String, Object> json, TokenizerJson.Reader r) throws FileFormatException {
            super(vocab(json, r));
            String unkToken = r.string(json, "unk_token", "model");
            unk = unkId(vocab, unkToken, r);
            Object max = json.getOrDefault("max_input_chars_per_word", 100L);
            if (!(max instanceof Long m) || m < 1) {
                throw r.error("model.max_input_chars_per_word is " + Json.write(max) + ", expected a positive integer");
            }
            maxChars = (int) Math.min(m, Integer.MAX_VALUE);
            String prefix = json.get("continuing_subword_prefix") == null ? "##"
                    : r.string(json, "continuing_subword_prefix", "model");
            int l = 0;
            for (Map.Entry<String, Integer> e : vocab.entrySet()) {
                String t = e.getKey();
                l = Math.max(l, t.length());
                if (!prefix.isEmpty() && t.startsWith(prefix)) continuing.put(t.substring(prefix.length()), e.getValue());
            }
            if (prefix.isEmpty()) continuing.putAll(vocab);
            longest = l;
        }

        private static final int CACHE_LIMIT = 1 << 16;
        private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

        @Override
        void tokenize(String word, ByteLevelBpeTokenizer.IntList out) {
            int[] ids = cache.get(word); // words repeat (Zipf): most are looked up, not matched again
            if (ids == null) {
                var list = new ByteLevelBpeTokenizer.IntList(4);
                wordPiece(word, list);
                ids = list.toArray();
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(word, ids);
            }
            out.addAll(ids);
        }

        private void wordPiece(String word, ByteLevelBpeTokenizer.IntList out) {
            int n = word.length();
            if (n > maxChars && word.codePointCount(0, n) > maxChars) {
                out.add(unk);
                return;
            }
            int mark = out.size;
            for (int start = 0; start < n; ) {
                Map<String, Integer> table = start == 0 ? vocab : continuing;
                int end = Math.min(n, start + longest);
                Integer id = null;
                for (; end > start; end--) {
                    if (end < n && Character.isLowSurrogate(word.charAt(end))) continue; // never split a pair
                    id = table.get(word.substring(start, end));
                    if (id != null) break;
                }
                if (id == null) {
                    if (unk < 0) {
                        throw new IllegalArgumentException("WordPiece: " + ByteLevelBpeTokenizer.quote(word)
                                + " has no tokens and the model has no unk_token");
                    }
                    out.size = mark;
                    out.add(unk);
                    return;
                }
                out.add(id);
                start = end;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ BPE

    /**
     * Byte-pair encoding over the word's characters (for byte-level BPE the ByteLevel pre-tokenizer has already
     * turned bytes into alphabet characters), merged by rank with {@link ByteLevelBpeTokenizer#merge}. Characters
     * outside the vocabulary become unk (fused when fuse_unk) or, with byte_fallback, {@code <0xXX>} byte tokens.
     */
    static final class Bpe extends Model {
        private static final int CACHE_LIMIT = 1 << 16;
        private final int unk;
        private final boolean fuseUnk, byteFallback, ignoreMerges;
        private final String prefix, suffix;
        private final LongIntMap ranks;
        private final int[] results;
        private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

        Bpe(Map<String, Object> json, TokenizerJson.Reader r) throws FileFormatException {
            super(vocab(json, r));
            unk = unkId(vocab, optionalString(json, "unk_token", r), r);
            fuseUnk = r.flag(json, "fuse_unk", "model", false);
            byteFallback = r.flag(json, "byte_fallback", "model", false);
            ignoreMerges = r.flag(json, "ignore_merges", "model", false);
            String p = optionalString(json, "continuing_subword_prefix", r);
            String s = optionalString(json, "end_of_word_suffix", r);
            prefix = p == null ? "" : p;
            suffix = s == null ? "" : s;
            if (json.get("dropout") instanceof Number d && d.doubleValue() != 0) {
                throw r.error("model.dropout " + d + " is not supported (BPE dropout is random, for training only)");
            }
            List<?> merges = r.list(json, "merges", "model");
            ranks = new LongIntMap(merges.size(), -1);
            results = new int[merges.size()];
            for (int rank = 0; rank < merges.size(); rank++) {
                Object m = merges.get(rank);
                String[] parts = null;
                if (m instanceof String str) {
                    parts = str.split(" ", -1);
                } else if (m instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a
                        && l.get(1) instanceof String b) {
                    parts = new String[] {a, b};
                }
                if (parts == null || parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                    throw r.error("model.merges[" + rank + "] is " + Json.write(m) + ", expected \"a b\" or [\"a\", \"b\"]");
                }
                String merged = parts[0] + (parts[1].startsWith(prefix) ? parts[1].substring(prefix.length()) : parts[1]);
                Integer left = vocab.get(parts[0]), right = vocab.get(parts[1]), id = vocab.get(merged);
                String name = "model.merges[" + rank + "] " + ByteLevelBpeTokenizer.quote(parts[0] + " " + parts[1]);
                if (left == null) throw r.error(name + ": " + ByteLevelBpeTokenizer.quote(parts[0]) + " is not in the vocabulary");
                if (right == null) throw r.error(name + ": " + ByteLevelBpeTokenizer.quote(parts[1]) + " is not in the vocabulary");
                if (id == null) throw r.error(name + ": the merged token " + ByteLevelBpeTokenizer.quote(merged) + " is not in the vocabulary");
                long pair = LongIntMap.pair(left, right);
                if (ranks.get(pair) < 0) ranks.put(pair, rank); // the first rank wins, as in HF
                results[rank] = id;
            }
        }

        @Override
        void tokenize(String word, ByteLevelBpeTokenizer.IntList out) {
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = bpe(word);
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(word, ids);
            }
            out.addAll(ids);
        }

        private int[] bpe(String word) {
            if (ignoreMerges) {
                Integer whole = vocab.get(word);
                if (whole != null) return new int[] {whole};
            }
            ByteLevelBpeTokenizer.IntList ids = new ByteLevelBpeTokenizer.IntList(word.length());
            boolean lastUnk = false;
            for (int i = 0; i < word.length(); ) {
                int c = word.codePointAt(i);
                int next = i + Character.charCount(c);
                String symbol = (i > 0 ? prefix : "") + word.substring(i, next) + (next == word.length() ? suffix : "");
                Integer id = vocab.get(symbol);
                if (id != null) {
                    ids.add(id);
                    lastUnk = false;
                } else if (byteFallback && allBytesKnown(word.substring(i, next))) {
                    for (byte b : word.substring(i, next).getBytes(StandardCharsets.UTF_8)) {
                        ids.add(vocab.get(String.format("<0x%02X>", b & 0xFF)));
                    }
                    lastUnk = false;
                } else if (unk >= 0) {
                    if (!(fuseUnk && lastUnk)) ids.add(unk);
                    lastUnk = true;
                } else {
                    throw new IllegalArgumentException(String.format("BPE: character U+%04X of %s has no token in the "
                            + "vocabulary and the model has no unk_token", c, ByteLevelBpeTokenizer.quote(word)));
                }
                i = next;
            }
            return ByteLevelBpeTokenizer.merge(ids.toArray(), ranks, results);
        }

        private boolean allBytesKnown(String ch) {
            for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                if (!vocab.containsKey(String.format("<0x%02X>", b & 0xFF))) return false;
            }
            return true;
        }
    }

    // ------------------------------------------------------------------------------------------------ Unigram

    /**
     * SentencePiece's unigram model: the segmentation of the word with the highest total log-probability (Viterbi
     * over the pieces); a character no piece covers is unk, scored (lowest score − 10) as in SentencePiece, and
     * consecutive unks fuse into one.
     */
    static final class Unigram extends Model {
        private final double[] scores;
        private final int unk;
        private final double unkScore;
        private final boolean byteFallback;
        private final int longest;

        Unigram(Map<String, Object> json, TokenizerJson.Reader r) throws FileFormatException {
            super(unigramVocab(json, r));
            List<?> pieces = r.list(json, "vocab", "model");
            scores = new double[pieces.size()];
            double min = Double.POSITIVE_INFINITY;
            int l = 0;
            for (int i = 0; i < pieces.size(); i++) {
                scores[i] = ((Number) ((List<?>) pieces.get(i)).get(1)).doubleValue();
                min = Math.min(min, scores[i]);
                l = Math.max(l, tokens[i].length());
            }
            longest = l;
            unkScore = min - 10;
            Object u = json.get("unk_id");
            if (u == null) {
                unk = -1;
            } else if (u instanceof Long id && id >= 0 && id < pieces.size()) {
                unk = (int) (long) id;
            } else {
                throw r.error("model.unk_id is " + Json.write(u) + ", expected an index into model.vocab (0 to "
                        + (pieces.size() - 1) + ") or null");
            }
            byteFallback = r.flag(json, "byte_fallback", "model", false);
        }

        private static Map<String, Integer> unigramVocab(Map<String, Object> json, TokenizerJson.Reader r)
                throws FileFormatException {
            List<?> pieces = r.list(json, "vocab", "model");
            if (pieces.isEmpty()) throw r.error("model.vocab is empty");
            Map<String, Integer> vocab = new HashMap<>(pieces.size() * 2);
            for (int i = 0; i < pieces.size(); i++) {
                if (!(pieces.get(i) instanceof List<?> p) || p.size() != 2 || !(p.get(0) instanceof String piece)
                        || !(p.get(1) instanceof Number)) {
                    throw r.error("model.vocab[" + i + "] is " + Json.write(pieces.get(i))
                            + ", expected [\"piece\", score]");
                }
                vocab.putIfAbsent(piece, i);
            }
            return vocab;
        }

        @Override
        void tokenize(String word, ByteLevelBpeTokenizer.IntList out) {
            int n = word.length();
            double[] best = new double[n + 1]; // best score of word[0, i)
            int[] from = new int[n + 1]; // where the last piece of that best segmentation starts
            int[] piece = new int[n + 1]; // its id (-1: an unknown character)
            java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
            best[0] = 0;
            for (int i = 0; i < n; ) {
                int next = i + Character.charCount(word.codePointAt(i));
                if (best[i] == Double.NEGATIVE_INFINITY) {
                    i = next;
                    continue;
                }
                boolean single = false;
                for (int end = next; end <= Math.min(n, i + longest); end++) {
                    if (end < n && Character.isLowSurrogate(word.charAt(end))) continue;
                    Integer id = vocab.get(word.substring(i, end));
                    if (id == null) continue;
                    if (end == next) single = true;
                    double s = best[i] + scores[id];
                    if (s > best[end]) {
                        best[end] = s;
                        from[end] = i;
                        piece[end] = id;
                    }
                }
                if (!single && best[i] + unkScore > best[next]) {
                    best[next] = best[i] + unkScore;
                    from[next] = i;
                    piece[next] = -1;
                }
                i = next;
            }
            List<int[]> path = new ArrayList<>(); // {start, end, id}
            for (int end = n; end > 0; end = from[end]) path.add(new int[] {from[end], end, piece[end]});
            boolean lastUnk = false;
            for (int k = path.size() - 1; k >= 0; k--) {
                int[] p = path.get(k);
                if (p[2] >= 0) {
                    out.add(p[2]);
                    lastUnk = false;
                } else if (byteFallback && bytesKnown(word.substring(p[0], p[1]))) {
                    for (byte b : word.substring(p[0], p[1]).getBytes(StandardCharsets.UTF_8)) {
                        out.add(vocab.get(String.format("<0x%02X>", b & 0xFF)));
                    }
                    lastUnk = false;
                } else if (unk >= 0) {
                    if (!lastUnk) out.add(unk);
                    lastUnk = true;
                } else {
                    throw new IllegalArgumentException("Unigram: " + ByteLevelBpeTokenizer.quote(word.substring(p[0], p[1]))
                            + " has no piece and the model has no unk_id");
                }
            }
        }

        private boolean bytesKnown(String ch) {
            for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                if (!vocab.containsKey(String.format("<0x%02X>", b & 0xFF))) return false;
            }
            return true;
        }
    }
}
