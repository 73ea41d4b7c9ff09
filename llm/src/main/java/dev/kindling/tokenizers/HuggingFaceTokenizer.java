package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face {@code tokenizer.json} run as the library runs it: added tokens are cut out of the text first,
 * the rest is normalized, pre-tokenized into words and tokenized by the model (WordPiece, BPE — byte-level or not
 * — or Unigram); the post-processor adds special tokens ([CLS] … [SEP]) and type ids; batches are truncated and
 * padded; the decoder turns ids back into text.
 *
 * <pre>{@code
 * HuggingFaceTokenizer tok = HuggingFaceTokenizer.load(dir.resolve("tokenizer.json"));
 * List<Encoding> batch = tok.encodeBatch(texts,
 *         EncodeOptions.DEFAULT.withMaxLength(128).withPadding(EncodeOptions.Padding.LONGEST));
 * batch.get(0).ids();            // [101, 7592, 2088, 102, 0, 0]
 * batch.get(0).attentionMask();  // [1, 1, 1, 1, 0, 0]
 * tok.decode(batch.get(0).ids(), true);  // "hello world"
 * }</pre>
 *
 * <p>Supported parts: normalizers BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend,
 * Replace, Sequence; pre-tokenizers BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits, ByteLevel,
 * Split, Metaspace, Sequence; post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel;
 * decoders WordPiece, ByteLevel, Metaspace, Fuse, Replace, Strip, ByteFallback, BPEDecoder, Sequence. Anything
 * else is rejected at load with an error naming the part. Offsets are not computed. Immutable and thread-safe.
 */
public final class HuggingFaceTokenizer implements Tokenizer {
    private final Map<String, Object> root;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizers.PreTokenizer preTokenizer;
    private final Models.Model model;
    private final PostProcessors.PostProcessor postProcessor;
    private final Decoders.Decoder decoder;
    private final String[] idToToken; // model tokens, overridden by added tokens
    private final boolean[] special;
    private final Map<String, Integer> tokenToId = new LinkedHashMap<>();
    private final AddedMatcher rawAdded; // added tokens with normalized false, matched on the input text
    private final AddedMatcher normalizedAdded; // the others, matched on normalized text
    private final EncodeOptions fileOptions;
    private final int filePadId, padTypeId;

    private record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip) {}

    /**
     * Finds added tokens leftmost-longest, as the library's Aho-Corasick automaton does: only at characters that
     * start some token (a bitmap lookup for ASCII), trying that character's tokens longest first. A regex
     * alternation would do the same but tries every alternative at every position, the encoder's bottleneck.
     */
    private record AddedMatcher(Map<Character, AddedToken[]> byFirst, boolean[] asciiFirst) {
        /** The token at {@code text[i...]}, or null. */
        AddedToken at(String text, int i) {
            char c = text.charAt(i);
            if (c < 128 && !asciiFirst[c]) return null;
            AddedToken[] candidates = byFirst.get(c);
            if (candidates == null) return null;
            for (AddedToken t : candidates) if (text.startsWith(t.content(), i)) return t;
            return null;
        }
    }

    private HuggingFaceTokenizer(Map<String, Object> root, TokenizerJson.Reader r) throws FileFormatException {
        this.root = root;
        model = Models.of(r.object(root, "model", null), r);
        normalizer = Normalizers.of(r.optionalObject(root, "normalizer"), r, "normalizer");
        preTokenizer = PreTokenizers.of(r.optionalObject(root, "pre_tokenizer"), r, "pre_tokenizer");
        postProcessor = PostProcessors.of(r.optionalObject(root, "post_processor"), r, "post_processor");
        decoder = Decoders.of(r.optionalObject(root, "decoder"), r, "decoder");

        List<AddedToken> raw = new ArrayList<>(), normalized = new ArrayList<>();
        int size = model.tokens.length;
        List<Map<String, Object>> addedJson = new ArrayList<>();
        Object list = root.get("added_tokens");
        if (list != null && !(list instanceof List)) {
            throw r.error("added_tokens is " + TokenizerJson.kind(list) + ", expected an array");
        }
        if (list != null) {
            for (int i = 0; i < ((List<?>) list).size(); i++) {
                Map<String, Object> t = TokenizerJson.asObject(((List<?>) list).get(i), r, "added_tokens[" + i + "]");
                addedJson.add(t);
                size = Math.max(size, r.id(t.get("id"), "added_tokens[" + i + "].id") + 1);
            }
        }
        idToToken = Arrays.copyOf(model.tokens, size);
        special = new boolean[size];
        for (int id = 0; id < model.tokens.length; id++) if (model.tokens[id] != null) tokenToId.put(model.tokens[id], id);
        for (int i = 0; i < addedJson.size(); i++) {
            Map<String, Object> t = addedJson.get(i);
            String where = "added_tokens[" + i + "]";
            String content = r.string(t, "content", where);
            if (content.isEmpty()) throw r.error(where + ".content is empty");
            // As in the Rust library, a token the model already has keeps the model's id, whatever the file says.
            Integer modelId = model.vocab.get(content);
            int id = modelId != null ? modelId : r.id(t.get("id"), where + ".id");
            idToToken[id] = content;
            special[id] = r.flag(t, "special", where, false);
            tokenToId.put(content, id);
            boolean norm = r.flag(t, "normalized", where, !special[id]);
            // A normalized token is looked for in normalized text, so its own text is normalized too (as in HF).
            String match = norm ? normalizer.apply(content) : content;
            if (match.isEmpty()) throw r.error(where + ".content " + ByteLevelBpeTokenizer.quote(content)
                    + " is empty once normalized, so it could never be found");
            AddedToken token = new AddedToken(id, match,
                    r.flag(t, "single_word", where, false), r.flag(t, "lstrip", where, false),
                    r.flag(t, "rstrip", where, false));
            (norm ? normalized : raw).add(token);
        }
        rawAdded = matcher(raw);
        normalizedAdded = matcher(normalized);

        Map<String, Object> padding = r.optionalObject(root, "padding");
        Map<String, Object> truncation = r.optionalObject(root, "truncation");
        int pad = -1, padType = 0;
        EncodeOptions o = EncodeOptions.DEFAULT;
        if (truncation != null) {
            o = o.withMaxLength(r.id(truncation.get("max_length"), "truncation.max_length"));
        }
        if (padding != null) {
            if (padding.get("pad_token") instanceof String t) o = o.withPadToken(t);
            if (padding.get("pad_id") != null) pad = r.id(padding.get("pad_id"), "padding.pad_id");
            if (padding.get("pad_type_id") != null) padType = r.id(padding.get("pad_type_id"), "padding.pad_type_id");
            o = o.withPadLeft("Left".equals(padding.get("direction")));
            if (padding.get("pad_to_multiple_of") != null) {
                o = o.withPadToMultipleOf(r.id(padding.get("pad_to_multiple_of"), "padding.pad_to_multiple_of"));
            }
            Object strategy = padding.get("strategy");
            if ("BatchLongest".equals(strategy)) {
                o = o.withPadding(EncodeOptions.Padding.LONGEST);
            } else if (strategy instanceof Map<?, ?> m && m.get("Fixed") != null) {
                int fixed = r.id(m.get("Fixed"), "padding.strategy.Fixed");
                if (fixed == 0) throw r.error("padding.strategy.Fixed is 0, expected a length from 1");
                o = new EncodeOptions(true, EncodeOptions.Padding.MAX_LENGTH, truncation != null ? o.maxLength() : fixed,
                        o.truncate(), o.padLeft(), o.padToMultipleOf(), o.padToken());
            } else {
                throw r.error("padding.strategy is " + Json.write(strategy) + ", expected \"BatchLongest\" or "
                        + "{\"Fixed\": n}");
            }
        }
        fileOptions = o;
        filePadId = pad;
        padTypeId = padType;
    }

    private static AddedMatcher matcher(List<AddedToken> tokens) {
        Map<Character, List<AddedToken>> lists = new LinkedHashMap<>();
        Map<String, AddedToken> byContent = new LinkedHashMap<>();
        for (AddedToken t : tokens) byContent.putIfAbsent(t.content(), t);
        boolean[] ascii = new boolean[128];
        for (AddedToken t : byContent.values()) {
            char c = t.content().charAt(0);
            lists.computeIfAbsent(c, k -> new ArrayList<>()).add(t);
            if (c < 128) ascii[c] = true;
        }
        Map<Character, AddedToken[]> byFirst = new java.util.HashMap<>();
        for (var e : lists.entrySet()) {
            AddedToken[] a = e.getValue().toArray(new AddedToken[0]);
            Arrays.sort(a, (x, y) -> Integer.compare(y.content().length(), x.content().length()));
            byFirst.put(e.getKey(), a);
        }
        return new AddedMatcher(byFirst, ascii);
    }

    // ------------------------------------------------------------------------------------------------ loading

    /**
     * Reads a {@code tokenizer.json}.
     *
     * @throws FileFormatException if the file is not valid JSON, lacks a part, or uses a part this class does not
     *     implement; the message names the file and the part (e.g. {@code normalizer: unknown normalizer type 'X'})
     */
    public static HuggingFaceTokenizer load(Path tokenizerJson) throws IOException {
        return fromJson(TokenizerJson.read(tokenizerJson), new TokenizerJson.Reader(tokenizerJson));
    }

    /**
     * Reads {@code tokenizer.json} content from memory (a classpath resource, say); {@code source} names it in
     * error messages.
     */
    public static HuggingFaceTokenizer fromJson(byte[] utf8, String source) throws FileFormatException {
        TokenizerJson.Reader r = new TokenizerJson.Reader(Path.of(source));
        Object root;
        try {
            root = Json.parse(utf8);
        } catch (Json.JsonException e) {
            throw r.error("malformed JSON: " + e.getMessage());
        }
        return fromJson(TokenizerJson.asObject(root, r, "the top level"), r);
    }

    static HuggingFaceTokenizer fromJson(Map<String, Object> root, TokenizerJson.Reader r) throws FileFormatException {
        return new HuggingFaceTokenizer(root, r);
    }

    /** The options the file's "truncation" and "padding" blocks ask for (what the Rust library applies). */
    public EncodeOptions fileOptions() {
        return fileOptions;
    }

    // ------------------------------------------------------------------------------------------------ encoding

    /** The ids of {@code text} without special tokens, padding or truncation. */
    @Override
    public int[] encode(String text) {
        return tokenize(text);
    }

    /** One text, with {@code options}' special tokens, truncation and padding (to max length). */
    public Encoding encode(String text, EncodeOptions options) {
        return encodeBatch(List.of(text), options).getFirst();
    }

    /** A pair of texts, for BERT {@code [CLS] a [SEP] b [SEP]} with type ids 0 then 1. */
    public Encoding encodePair(String first, String second, EncodeOptions options) {
        return encode(List.of(first), List.of(second), options).getFirst();
    }

    /** Encodes each text; padding LONGEST pads to the longest encoding of this batch. */
    public List<Encoding> encodeBatch(List<String> texts, EncodeOptions options) {
        return encode(texts, null, options);
    }

    /** Encodes each pair ({@code firsts[i]}, {@code seconds[i]}); the lists must have the same size. */
    public List<Encoding> encodePairBatch(List<String> firsts, List<String> seconds, EncodeOptions options) {
        if (firsts.size() != seconds.size()) {
            throw new IllegalArgumentException("encodePairBatch: " + firsts.size() + " first texts but "
                    + seconds.size() + " second texts");
        }
        return encode(firsts, seconds, options);
    }

    private List<Encoding> encode(List<String> firsts, List<String> seconds, EncodeOptions o) {
        PostProcessors.PostProcessor post = o.addSpecialTokens() ? postProcessor : PostProcessors.PLAIN;
        List<int[][]> rows = new ArrayList<>(firsts.size()); // {ids, types, special}
        int longest = 0;
        for (int i = 0; i < firsts.size(); i++) {
            int[] a = tokenize(firsts.get(i));
            int[] b = seconds == null ? null : tokenize(seconds.get(i));
            if (o.truncate()) {
                int budget = o.maxLength() - post.added(b != null);
                if (budget < 0) {
                    throw new IllegalArgumentException("encode: maxLength " + o.maxLength() + " is shorter than the "
                            + post.added(b != null) + " special tokens the post-processor adds");
                }
                if (b == null) {
                    if (a.length > budget) a = Arrays.copyOf(a, budget);
                } else if (a.length + b.length > budget) {
                    int[] cut = longestFirst(a.length, b.length, budget);
                    a = Arrays.copyOf(a, cut[0]);
                    b = Arrays.copyOf(b, cut[1]);
                }
            }
            var ids = new ByteLevelBpeTokenizer.IntList(a.length + (b == null ? 0 : b.length) + 4);
            var types = new ByteLevelBpeTokenizer.IntList(ids.a.length);
            var spec = new ByteLevelBpeTokenizer.IntList(ids.a.length);
            post.process(a, b, ids, types, spec);
            rows.add(new int[][] {ids.toArray(), types.toArray(), spec.toArray()});
            longest = Math.max(longest, ids.size);
        }
        int target = switch (o.padding()) {
            case NONE -> 0;
            case LONGEST -> longest;
            case MAX_LENGTH -> o.maxLength();
        };
        if (target > 0 && o.padToMultipleOf() > 1) {
            target = (target + o.padToMultipleOf() - 1) / o.padToMultipleOf() * o.padToMultipleOf();
        }
        int padId = target > 0 ? padId(o) : -1;
        List<Encoding> out = new ArrayList<>(rows.size());
        for (int[][] row : rows) {
            int n = row[0].length;
            int total = Math.max(n, target);
            int at = o.padLeft() ? total - n : 0;
            int[] ids = new int[total], types = new int[total], mask = new int[total], spec = new int[total];
            String[] tokens = new String[total];
            if (total > n) {
                Arrays.fill(ids, padId);
                Arrays.fill(types, padTypeId);
                Arrays.fill(spec, 1);
                Arrays.fill(tokens, idToToken[padId]);
            }
            System.arraycopy(row[0], 0, ids, at, n);
            System.arraycopy(row[1], 0, types, at, n);
            System.arraycopy(row[2], 0, spec, at, n);
            for (int k = 0; k < n; k++) {
                mask[at + k] = 1;
                tokens[at + k] = idToToken[row[0][k]];
            }
            out.add(new Encoding(ids, types, mask, spec, tokens));
        }
        return out;
    }

    /** HF's LongestFirst: how many tokens of each text to keep so that both fit {@code max}. */
    static int[] longestFirst(int n1, int n2, int max) {
        boolean swap = n1 > n2;
        if (swap) {
            int t = n1;
            n1 = n2;
            n2 = t;
        }
        if (n1 > max) n2 = n1; // both longer than the budget
        else n2 = Math.max(n1, max - n1); // the shorter keeps all it can; the longer takes the rest
        if (n1 + n2 > max) {
            n1 = max / 2;
            n2 = n1 + max % 2;
        }
        return swap ? new int[] {n2, n1} : new int[] {n1, n2};
    }

    private int padId(EncodeOptions o) {
        String token = o.padToken();
        if (token != null) {
            Integer id = tokenToId.get(token);
            if (id == null) throw new IllegalArgumentException("encode: pad token " + ByteLevelBpeTokenizer.quote(token)
                    + " is not in the vocabulary");
            return id;
        }
        if (filePadId >= 0 && filePadId < idToToken.length) return filePadId;
        for (String t : List.of("[PAD]", "<pad>", "<|pad|>")) {
            Integer id = tokenToId.get(t);
            if (id != null) return id;
        }
        return 0; // the Rust library's default PaddingParams: id 0, whatever token that is
    }

    /** Added tokens, then normalizer, pre-tokenizer and model, for one text. */
    private int[] tokenize(String text) {
        var ids = new ByteLevelBpeTokenizer.IntList(Math.max(16, text.length() / 3));
        List<String> words = new ArrayList<>();
        List<Object> segments = new ArrayList<>();
        split(text, rawAdded, segments);
        boolean atStart = true; // no added token before: Metaspace's "first" scheme marks this piece's first word
        for (Object segment : segments) {
            if (segment instanceof Integer id) {
                ids.add(id);
                atStart = false;
                continue;
            }
            List<Object> inner = new ArrayList<>();
            split(normalizer.apply((String) segment), normalizedAdded, inner);
            for (Object piece : inner) {
                if (piece instanceof Integer id) {
                    ids.add(id);
                    atStart = false;
                    continue;
                }
                words.clear();
                preTokenizer.split((String) piece, atStart, words);
                atStart = false;
                for (String w : words) if (!w.isEmpty()) model.tokenize(w, ids);
            }
        }
        return ids.toArray();
    }

    /** Cuts {@code text} into strings and the ids of the added tokens found in it. */
    private static void split(String text, AddedMatcher added, List<Object> out) {
        int n = text.length();
        if (added.byFirst().isEmpty()) {
            if (n > 0) out.add(text);
            return;
        }
        int last = 0;
        for (int i = 0; i < n; ) {
            AddedToken t = added.at(text, i);
            if (t == null) {
                i++;
                continue;
            }
            int s = i, e = i + t.content().length();
            if (t.singleWord() && (s > 0 && isWordChar(text.codePointBefore(s))
                    || e < n && isWordChar(text.codePointAt(e)))) {
                i++; // inside a word: not this token here
                continue;
            }
            if (t.lstrip()) while (s > last && Normalizers.isWhitespace(text.charAt(s - 1))) s--;
            if (t.rstrip()) while (e < n && Normalizers.isWhitespace(text.charAt(e))) e++;
            if (s > last) out.add(text.substring(last, s));
            out.add(t.id());
            last = e;
            i = e;
        }
        if (last < n) out.add(text.substring(last));
    }

    private static boolean isWordChar(int c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    // ------------------------------------------------------------------------------------------------ decoding

    /** The text of {@code ids}, special tokens included. */
    @Override
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of {@code ids} through the file's decoder; with {@code skipSpecialTokens}, added tokens marked
     * special ([CLS], [SEP], [PAD], {@code <|endoftext|>}) are left out.
     *
     * @throws IllegalArgumentException if an id has no token (the message names it and its position)
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
                throw new IllegalArgumentException("decode: id " + id + " at position " + i + " has no token (the "
                        + "vocabulary has " + idToToken.length + " ids)");
            }
            if (skipSpecialTokens && special[id]) continue;
            tokens.add(idToToken[id]);
        }
        if (tokens.isEmpty()) return "";
        return String.join("", decoder.apply(tokens));
    }

    /** The token text of {@code id}, or null when no token has it. */
    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** The id of a token text (a model token or an added token). */
    public OptionalInt tokenToId(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    /** The id of {@code <|endoftext|>}, {@code </s>} or {@code <eos>}, the first of them that is a special token. */
    @Override
    public OptionalInt eosTokenId() {
        for (String t : List.of("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>")) {
            Integer id = tokenToId.get(t);
            if (id != null && special[id]) return OptionalInt.of(id);
        }
        return OptionalInt.empty();
    }

    /** Writes the file this tokenizer was read from (the same JSON, re-serialized). */
    @Override
    public void save(Path tokenizerJson) throws IOException {
        TokenizerJson.write(tokenizerJson, root);
    }

    @Override
    public String toString() {
        return "HuggingFaceTokenizer(" + ((Map<?, ?>) root.get("model")).get("type") + ", vocabSize="
                + idToToken.length + ")";
    }
}
