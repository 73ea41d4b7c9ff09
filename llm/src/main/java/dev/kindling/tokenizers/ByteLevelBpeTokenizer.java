package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

/**
 * GPT-2's byte-level byte-pair encoding.
 *
 * <p>Encoding: special tokens ({@code <|endoftext|>}) are cut out of the text first and become one id each; the
 * rest is split by GPT-2's regex ({@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+})
 * into words; each word's UTF-8 bytes start as one token each, and the ranked merges are applied lowest rank
 * first until none applies. Words are cached, so repeated words cost a map lookup. Every string without lone
 * surrogates round-trips: {@code decode(encode(s)).equals(s)}.
 *
 * <p>Sources: {@link #train} learns merges from a corpus, {@link #fromGpt2Files} reads OpenAI's
 * {@code encoder.json} + {@code vocab.bpe}, and {@link Tokenizer#load} reads a Hugging Face {@code tokenizer.json}
 * (model "BPE", pre-tokenizer and decoder "ByteLevel"), which {@link #save} writes. Post-processors in such files
 * (templates that add BOS/CLS tokens) are not applied: {@link #encode} returns the text's tokens only.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {
    /** GPT-2's end-of-text token. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    // Beyond this many cached words the cache starts over, so that encoding endless novel text stays bounded.
    private static final int CACHE_LIMIT = 1 << 17;

    private final String[] tokens; // id -> token text: alphabet text for model tokens, literal text for specials
    private final byte[][] tokenBytes; // id -> the bytes it decodes to
    private final int[] byteIds; // byte -> id of its one-byte token, or -1 when the vocabulary lacks it
    private final long[] merges; // rank -> packed (left id, right id)
    private final int[] mergeResults; // rank -> id of the merged token
    private final LongIntMap mergeRanks; // packed pair -> rank, or -1
    private final Map<String, Integer> specials; // literal text -> id, in id order
    private final Pattern specialPattern; // alternation of the specials, longest first; null when none
    private final boolean addPrefixSpace;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param tokens id -> text (alphabet text for model tokens, literal text for specials); no nulls
     * @param mergePairs in rank order; each result must be a token
     * @param specials literal text -> id; those ids must hold that text in {@code tokens}
     */
    private ByteLevelBpeTokenizer(String[] tokens, long[] mergePairs, int[] mergeResults,
                                  Map<String, Integer> specials, boolean addPrefixSpace) {
        this.tokens = tokens;
        this.merges = mergePairs;
        this.mergeResults = mergeResults;
        this.specials = specials;
        this.addPrefixSpace = addPrefixSpace;
        boolean[] special = new boolean[tokens.length];
        for (int id : specials.values()) special[id] = true;
        tokenBytes = new byte[tokens.length][];
        Map<String, Integer> modelIds = new HashMap<>();
        for (int id = 0; id < tokens.length; id++) {
            if (special[id]) {
                tokenBytes[id] = tokens[id].getBytes(StandardCharsets.UTF_8);
            } else {
                tokenBytes[id] = ByteLevel.fromAlphabet(tokens[id]);
                modelIds.putIfAbsent(tokens[id], id);
            }
        }
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = modelIds.getOrDefault(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]), -1);
        }
        mergeRanks = new LongIntMap(mergePairs.length, -1);
        for (int rank = 0; rank < mergePairs.length; rank++) {
            if (mergeRanks.get(mergePairs[rank]) < 0) mergeRanks.put(mergePairs[rank], rank); // first rank wins
        }
        specialPattern = specialPattern(new ArrayList<>(specials.keySet()));
    }

    // ------------------------------------------------------------------------------------------------ training

    /**
     * Learns a byte-level BPE vocabulary of {@code vocabSize} ids from {@code corpus}.
     *
     * <p>Ids 0–255 are the 256 bytes (in GPT-2's order: by their alphabet character), then one id per learned
     * merge, then the special tokens in sorted order, like GPT-2's {@code <|endoftext|>} at the end. Special
     * tokens in the corpus are cut out before counting. Each step merges the most frequent adjacent pair over the
     * pre-tokenized words weighted by their frequency; ties go to the pair of smaller ids (left first), so the
     * result is deterministic. Training stops early, with a smaller vocabulary, when no adjacent pair is left.
     *
     * @param vocabSize total ids, counting the 256 bytes and the specials
     * @throws IllegalArgumentException if {@code vocabSize} is below 256 + the number of specials, or a special
     *     token is empty
     */
    public static ByteLevelBpeTokenizer train(String corpus, int vocabSize, Set<String> specialTokens) {
        List<String> sortedSpecials = new ArrayList<>(new TreeSet<>(specialTokens));
        for (String s : sortedSpecials) {
            if (s.isEmpty()) throw new IllegalArgumentException("ByteLevelBpeTokenizer.train: a special token is empty");
        }
        int minimum = 256 + sortedSpecials.size();
        if (vocabSize < minimum) {
            throw new IllegalArgumentException("ByteLevelBpeTokenizer.train: vocabSize " + vocabSize
                    + " is below 256 bytes + " + sortedSpecials.size() + " special tokens = " + minimum);
        }
        BpeTrainer trainer = new BpeTrainer(corpus, specialPattern(sortedSpecials));
        trainer.train(vocabSize - sortedSpecials.size());
        List<String> modelTokens = trainer.tokens();
        String[] tokens = new String[modelTokens.size() + sortedSpecials.size()];
        modelTokens.toArray(tokens);
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (int i = 0; i < sortedSpecials.size(); i++) {
            int id = modelTokens.size() + i;
            tokens[id] = sortedSpecials.get(i);
            specials.put(sortedSpecials.get(i), id);
        }
        return new ByteLevelBpeTokenizer(tokens, trainer.mergePairs(), trainer.mergeResults(), specials, false);
    }

    /** An alternation of the specials, longest first so that one that starts another wins; null when none. */
    static Pattern specialPattern(List<String> specials) {
        if (specials.isEmpty()) return null;
        return Pattern.compile(specials.stream()
                .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                .map(Pattern::quote).collect(Collectors.joining("|")));
    }

    // ------------------------------------------------------------------------------------------------ encoding

    @Override
    public int[] encode(String text) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (specialPattern == null) {
            encodeOrdinary(text, 0, text.length(), out);
        } else {
            Matcher m = specialPattern.matcher(text);
            int last = 0;
            while (m.find()) {
                encodeOrdinary(text, last, m.start(), out);
                out.add(specials.get(m.group()));
                last = m.end();
            }
            encodeOrdinary(text, last, text.length(), out);
        }
        return out.toArray();
    }

    /** Encodes {@code text[from, to)}, which holds no special token. */
    private void encodeOrdinary(String text, int from, int to, IntList out) {
        if (from == to) return;
        String segment = text;
        int shift = 0; // segment index + shift = text index, for error messages
        if (addPrefixSpace && text.charAt(from) != ' ') {
            segment = " " + text.substring(from, to);
            shift = from - 1;
            from = 0;
            to = segment.length();
        }
        for (int start = from; start < to; ) {
            int end = ByteLevel.wordEnd(segment, start, to);
            String word = segment.substring(start, end);
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = bpe(word, start + shift);
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(word, ids);
            }
            out.addAll(ids);
            start = end;
        }
    }

    /** The merged ids of one pre-tokenized word found at {@code position} of the text (for errors). */
    int[] bpe(String word, int position) {
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < word.length() && Character.isLowSurrogate(word.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(String.format(
                        "ByteLevelBpeTokenizer.encode: lone surrogate U+%04X at index %d is not a character",
                        (int) c, position + i));
            }
        }
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = byteIds[bytes[i] & 0xFF];
            if (ids[i] < 0) {
                throw new IllegalArgumentException(String.format("ByteLevelBpeTokenizer.encode: byte 0x%02x of %s "
                        + "at index %d has no token in the vocabulary", bytes[i] & 0xFF, quote(word), position));
            }
        }
        if (n == 1 || merges.length == 0) return ids;
        return merge(ids, mergeRanks, mergeResults);
    }

    /**
     * Applies ranked merges to a word's initial symbols: {@code ranks} maps a packed pair of ids to its rank (or
     * -1), {@code results[rank]} is the merged id. Shared by this class and the {@code tokenizer.json} BPE model.
     */
    static int[] merge(int[] ids, LongIntMap mergeRanks, int[] mergeResults) {
        int n = ids.length;
        if (n < 2) return ids;
        // Symbols form a linked list over byte positions; a heap of (rank, position) picks the lowest-ranked pair,
        // leftmost first, in O(n log n) even for very long words. That is Hugging Face's order, and GPT-2's ("merge
        // the best bigram everywhere, repeat"), because a pair that a merge creates ranks after the merge that
        // created it in learned merges. Stale heap entries (a symbol merged away meanwhile) are skipped on pop.
        int[] next = new int[n];
        int[] prev = new int[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                int rank = mergeRanks.get(LongIntMap.pair(ids[i], ids[i + 1]));
                if (rank >= 0) heap.push(((long) rank << 32) | i);
            }
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int i = (int) top;
            int j = next[i];
            if (ids[i] < 0 || j < 0 || mergeRanks.get(LongIntMap.pair(ids[i], ids[j])) != rank) continue;
            ids[i] = mergeResults[rank];
            ids[j] = -1;
            alive--;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            if (prev[i] >= 0) {
                int r = mergeRanks.get(LongIntMap.pair(ids[prev[i]], ids[i]));
                if (r >= 0) heap.push(((long) r << 32) | prev[i]);
            }
            if (next[i] >= 0) {
                int r = mergeRanks.get(LongIntMap.pair(ids[i], ids[next[i]]));
                if (r >= 0) heap.push(((long) r << 32) | i);
            }
        }
        int[] result = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) result[k++] = ids[i]; // position 0 is never merged away
        return result;
    }

    static String quote(String word) {
        StringBuilder sb = new StringBuilder("\"");
        word.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7F) sb.append(String.format("\\u%04x", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.append('"').toString();
    }

    // ------------------------------------------------------------------------------------------------ decoding

    @Override
    public String decode(int[] ids) {
        int length = 0;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= tokens.length) {
                throw new IllegalArgumentException("ByteLevelBpeTokenizer.decode: id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + tokens.length + ")");
            }
            length += tokenBytes[id].length;
        }
        byte[] bytes = new byte[length];
        int at = 0;
        for (int id : ids) {
            System.arraycopy(tokenBytes[id], 0, bytes, at, tokenBytes[id].length);
            at += tokenBytes[id].length;
        }
        return new String(bytes, StandardCharsets.UTF_8); // malformed sequences become U+FFFD
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public OptionalInt eosTokenId() {
        Integer id = specials.get(END_OF_TEXT);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The special tokens (literal text → id), in id order. */
    public Map<String, Integer> specialTokens() {
        return java.util.Collections.unmodifiableMap(specials);
    }

    /** The number of ranked merges. */
    public int mergeCount() {
        return merges.length;
    }

    @Override
    public String toString() {
        return "ByteLevelBpeTokenizer(vocabSize=" + tokens.length + ", merges=" + merges.length + ", specials="
                + specials.keySet() + ")";
    }

    // ------------------------------------------------------------------------------------------------ files

    /**
     * Reads OpenAI's GPT-2 vocabulary files: {@code encoder.json} (token → id) and {@code vocab.bpe} (a
     * {@code #version} line, then one merge "a b" per line in rank order). Either may be gzipped (detected by its
     * magic bytes). {@code <|endoftext|>}, when in {@code encoder.json}, becomes a special token.
     *
     * @throws FileFormatException if a file is malformed or a merge names a token that is not in the encoder
     */
    public static ByteLevelBpeTokenizer fromGpt2Files(Path encoderJson, Path vocabBpe) throws IOException {
        byte[] encoderBytes = readMaybeGzipped(encoderJson);
        Object root;
        try {
            root = Json.parse(encoderBytes);
        } catch (Json.JsonException e) {
            throw new FileFormatException("gpt2 encoder.json: " + encoderJson + ": malformed JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> encoder)) {
            throw new FileFormatException("gpt2 encoder.json: " + encoderJson + ": the top level is "
                    + TokenizerJson.kind(root) + ", not an object of token -> id");
        }
        TokenizerJson.Reader r = new TokenizerJson.Reader(encoderJson) {
            @Override
            FileFormatException error(String message) {
                return new FileFormatException("gpt2 encoder.json: " + file + ": " + message);
            }
        };
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : encoder.entrySet()) {
            vocab.put((String) e.getKey(), r.id(e.getValue(), "the id of " + quote((String) e.getKey())));
        }
        String[] tokens = denseTokens(vocab, Map.of(), r);

        String text = new String(readMaybeGzipped(vocabBpe), StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        List<String[]> mergeList = new ArrayList<>(lines.length);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) continue;
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new FileFormatException("gpt2 vocab.bpe: " + vocabBpe + ": line " + (i + 1) + " "
                        + quote(line) + " is not a merge of two tokens separated by one space");
            }
            mergeList.add(parts);
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        if (vocab.containsKey(END_OF_TEXT)) specials.put(END_OF_TEXT, vocab.get(END_OF_TEXT));
        TokenizerJson.Reader mergeReader = new TokenizerJson.Reader(vocabBpe) {
            @Override
            FileFormatException error(String message) {
                return new FileFormatException("gpt2 vocab.bpe: " + file + ": " + message);
            }
        };
        return build(tokens, vocab, mergeList, specials, false, mergeReader, "merge");
    }

    private static byte[] readMaybeGzipped(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length >= 2 && (bytes[0] & 0xFF) == 0x1F && (bytes[1] & 0xFF) == 0x8B) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
                return in.readAllBytes();
            } catch (IOException e) {
                throw new FileFormatException(file + ": corrupt gzip data: " + e.getMessage(), e);
            }
        }
        return bytes;
    }

    /** tokens[id] for vocab ∪ specials, checking that ids are dense and each id has one text. */
    private static String[] denseTokens(Map<String, Integer> vocab, Map<String, Integer> added,
                                        TokenizerJson.Reader r) throws FileFormatException {
        int max = -1;
        for (int id : vocab.values()) max = Math.max(max, id);
        for (int id : added.values()) max = Math.max(max, id);
        if (max < 0) throw r.error("the vocabulary is empty");
        String[] tokens = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            String before = tokens[e.getValue()];
            if (before != null) {
                throw r.error("id " + e.getValue() + " is given to both " + quote(before) + " and "
                        + quote(e.getKey()));
            }
            tokens[e.getValue()] = e.getKey();
        }
        for (Map.Entry<String, Integer> e : added.entrySet()) {
            String before = tokens[e.getValue()];
            if (before != null && !before.equals(e.getKey())) {
                throw r.error("id " + e.getValue() + " is vocabulary token " + quote(before)
                        + " and also added token " + quote(e.getKey()));
            }
            tokens[e.getValue()] = e.getKey();
        }
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] == null) {
                throw r.error("no token has id " + id + " (ids must run from 0 to " + max + " without gaps)");
            }
        }
        return tokens;
    }

    /** Resolves merges (pairs of token texts, in rank order) against the vocabulary and builds the tokenizer. */
    private static ByteLevelBpeTokenizer build(String[] tokens, Map<String, Integer> vocab, List<String[]> mergeList,
                                               Map<String, Integer> specials, boolean addPrefixSpace,
                                               TokenizerJson.Reader r, String where) throws FileFormatException {
        long[] pairs = new long[mergeList.size()];
        int[] results = new int[mergeList.size()];
        for (int rank = 0; rank < pairs.length; rank++) {
            String[] m = mergeList.get(rank);
            Integer left = vocab.get(m[0]);
            Integer right = vocab.get(m[1]);
            Integer merged = vocab.get(m[0] + m[1]);
            String name = where + " " + rank + " " + quote(m[0] + " " + m[1]);
            if (left == null) throw r.error(name + ": " + quote(m[0]) + " is not in the vocabulary");
            if (right == null) throw r.error(name + ": " + quote(m[1]) + " is not in the vocabulary");
            if (merged == null) {
                throw r.error(name + ": the merged token " + quote(m[0] + m[1]) + " is not in the vocabulary");
            }
            pairs[rank] = LongIntMap.pair(left, right);
            results[rank] = merged;
        }
        return new ByteLevelBpeTokenizer(tokens, pairs, results, specials, addPrefixSpace);
    }

    @Override
    public void save(Path tokenizerJson) throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < tokens.length; id++) vocab.putIfAbsent(tokens[id], (long) id);
        List<Object> mergeTexts = new ArrayList<>(merges.length);
        for (long pair : merges) {
            mergeTexts.add(tokens[LongIntMap.left(pair)] + " " + tokens[LongIntMap.right(pair)]);
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.put("vocab", vocab);
        model.put("merges", mergeTexts);
        List<Object> added = new ArrayList<>();
        for (Map.Entry<String, Integer> e : specials.entrySet()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", (long) e.getValue());
            t.put("content", e.getKey());
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
            added.add(t);
        }
        TokenizerJson.write(tokenizerJson,
                TokenizerJson.envelope(added, byteLevel(addPrefixSpace), byteLevel(true), model));
    }

    private static Map<String, Object> byteLevel(boolean addPrefixSpace) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "ByteLevel");
        m.put("add_prefix_space", addPrefixSpace);
        m.put("trim_offsets", true);
        m.put("use_regex", true);
        return m;
    }

    /** Reads a Hugging Face tokenizer.json whose model type is known to be "BPE". */
    static ByteLevelBpeTokenizer fromHuggingFace(Map<String, Object> root, TokenizerJson.Reader r)
            throws IOException {
        Map<String, Object> model = r.object(root, "model", null);
        Map<String, Object> normalizer = r.optionalObject(root, "normalizer");
        if (normalizer != null) throw r.error("normalizer " + Json.write(normalizer) + " is not supported");
        Map<String, Object> pre = r.optionalObject(root, "pre_tokenizer");
        if (pre == null || !"ByteLevel".equals(pre.get("type"))) {
            throw r.error("BPE is read only with a ByteLevel pre_tokenizer (GPT-2 style); this file has "
                    + Json.write(pre));
        }
        if (!r.flag(pre, "use_regex", "pre_tokenizer", true)) {
            throw r.error("pre_tokenizer ByteLevel with use_regex false is not supported");
        }
        boolean addPrefixSpace = r.flag(pre, "add_prefix_space", "pre_tokenizer", false);
        Map<String, Object> decoder = r.optionalObject(root, "decoder");
        if (decoder != null && !"ByteLevel".equals(decoder.get("type"))) {
            throw r.error("decoder " + Json.write(decoder) + " is not supported with a ByteLevel BPE (expected "
                    + "ByteLevel)");
        }
        for (String key : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            Object v = model.get(key);
            if (v != null && !"".equals(v)) throw r.error("model." + key + " " + Json.write(v) + " is not supported");
        }
        if (r.flag(model, "byte_fallback", "model", false)) throw r.error("model.byte_fallback true is not supported");
        if (r.flag(model, "ignore_merges", "model", false)) throw r.error("model.ignore_merges true is not supported");
        if (model.get("dropout") instanceof Number d && d.doubleValue() != 0) {
            throw r.error("model.dropout " + d + " is not supported (BPE dropout is for training only)");
        }

        Map<String, Object> vocabJson = r.object(model, "vocab", "model");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : vocabJson.entrySet()) {
            vocab.put(e.getKey(), r.id(e.getValue(), "model.vocab[" + quote(e.getKey()) + "]"));
        }
        List<?> mergesJson = r.list(model, "merges", "model");
        List<String[]> mergeList = new ArrayList<>(mergesJson.size());
        for (int i = 0; i < mergesJson.size(); i++) {
            Object m = mergesJson.get(i);
            String[] parts = null;
            if (m instanceof String s) {
                parts = s.split(" ", -1); // the older form, "a b"
            } else if (m instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a
                    && l.get(1) instanceof String b) {
                parts = new String[] {a, b}; // the newer form, ["a", "b"]
            }
            if (parts == null || parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw r.error("model.merges[" + i + "] is " + Json.write(m) + ", expected \"a b\" or [\"a\", \"b\"]");
            }
            mergeList.add(parts);
        }

        Map<String, Integer> specials = new LinkedHashMap<>();
        Object addedJson = root.get("added_tokens");
        if (addedJson != null) {
            if (!(addedJson instanceof List<?> added)) {
                throw r.error("added_tokens is " + TokenizerJson.kind(addedJson) + ", expected an array");
            }
            for (int i = 0; i < added.size(); i++) {
                if (!(added.get(i) instanceof Map<?, ?> t)) {
                    throw r.error("added_tokens[" + i + "] is " + TokenizerJson.kind(added.get(i))
                            + ", expected an object");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> token = (Map<String, Object>) t;
                String content = r.string(token, "content", "added_tokens[" + i + "]");
                if (content.isEmpty()) throw r.error("added_tokens[" + i + "].content is empty");
                int id = r.id(token.get("id"), "added_tokens[" + i + "].id");
                Integer before = specials.put(content, id);
                if (before != null && before != id) {
                    throw r.error("added token " + quote(content) + " has two ids, " + before + " and " + id);
                }
            }
        }
        String[] tokens = denseTokens(vocab, specials, r);
        return build(tokens, vocab, mergeList, sortById(specials), addPrefixSpace, r, "model.merges");
    }

    private static Map<String, Integer> sortById(Map<String, Integer> m) {
        Map<String, Integer> sorted = new LinkedHashMap<>();
        m.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** A growable int array. */
    static final class IntList {
        int[] a;
        int size;

        IntList(int capacity) {
            a = new int[Math.max(1, capacity)];
        }

        void add(int v) {
            if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[size++] = v;
        }

        void addAll(int[] vs) {
            if (size + vs.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, size + vs.length));
            System.arraycopy(vs, 0, a, size, vs.length);
            size += vs.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }

    /** A binary min-heap of longs. */
    static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) break;
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) break;
                if (child + 1 < size && a[child + 1] < a[child]) child++;
                if (a[child] >= last) break;
                a[i] = a[child];
                i = child;
            }
            a[i] = last;
            return top;
        }
    }
}
