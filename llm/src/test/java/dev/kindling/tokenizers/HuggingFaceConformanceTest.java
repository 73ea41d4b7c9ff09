package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.util.PairList;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import dev.kindling.io.Json;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;

/**
 * Kindling's tokenizer.json pipeline against the Hugging Face tokenizers library itself (Rust, through DJL's JNI
 * binding, offline): identical ids, type ids and attention masks on a varied multilingual sample, with and without
 * padding and truncation, for all-MiniLM-L6-v2's WordPiece tokenizer and for byte-level BPE tokenizers.
 */
class HuggingFaceConformanceTest {
    static {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("DJL_CACHE_DIR", Path.of("target", "djl-cache").toAbsolutePath().toString());
    }

    static final List<String> SAMPLES = List.of(
            "",
            "Hello, world!",
            "The quick brown fox jumps over the lazy dog.",
            "Crème brûlée, naïve façade, résumé — ÉCOLE Über",
            "Die Straße ist groß; STRASSE, Fußgänger.",
            "日本語のテキストと中文文本，还有한국어.",
            "Emoji: 😀🎉👍🏽 and flags 🇩🇪 ❤️",
            "Numbers 3.14159, 1,000,000 and 42nd; 2024-05-01 at 12:30pm (≈ 99.9%)",
            "Punctuation!!! ??? ... --- \"quoted\" 'single' (paren) [bracket] {brace} <angle> #hash @at $5 ^ & * ~ `tick`",
            "A pneumonoultramicroscopicsilicovolcanoconiosis and supercalifragilisticexpialidocious word",
            "x".repeat(120) + " after a very long word",
            "   leading and   multiple   spaces\tand\ttabs\nnew lines\r\n  trailing   ",
            "MiXeD CaSe WoRdS iPhone McDonald's don't I'm we've they're",
            "Ελληνικά ΣΟΦΙΑ σοφία, Русский текст, עברית, العربية, हिन्दी",
            "İstanbul'da ılık bir gün; ǅemal, ﬁne ligature, ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ",
            "Control\u0000chars\u0007and\u200bzero\u00a0width\u3000spaces\ufeff here",
            "[CLS] special [SEP] tokens [MASK] in [PAD] text [UNK] <|endoftext|> end",
            "Tabs\t\tand\u2003em\u2009spaces, soft\u00adhyphen, combining e\u0301 and a\u0308",
            "Code: for (int i = 0; i < n; i++) { sum += a[i] * b[i]; } // done",
            "URLs https://example.com/path?q=1&r=two#frag and e-mail foo.bar@example.org",
            "</s>after an end token</s> and  </s>  again");

    private static ai.djl.huggingface.tokenizers.HuggingFaceTokenizer reference(byte[] json, Map<String, String> options)
            throws IOException {
        try (InputStream in = new ByteArrayInputStream(json)) {
            return ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(in, options);
        }
    }

    static byte[] miniLmJson() throws IOException {
        try (InputStream in = HuggingFaceConformanceTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            if (in == null) throw new IOException("all-minilm-l6-v2-tokenizer.json is not on the test classpath");
            return in.readAllBytes();
        }
    }

    private static int[] ints(long[] a) {
        return Arrays.stream(a).mapToInt(x -> (int) x).toArray();
    }

    private static void assertSame(ai.djl.huggingface.tokenizers.Encoding expected, Encoding actual, String what) {
        assertArrayEquals(ints(expected.getIds()), actual.ids(), what + ": ids");
        assertArrayEquals(ints(expected.getTypeIds()), actual.typeIds(), what + ": type ids");
        assertArrayEquals(ints(expected.getAttentionMask()), actual.attentionMask(), what + ": attention mask");
    }

    /** Every sample alone, as pairs, and as padded/truncated batches, with special tokens on and off. */
    private static void conform(byte[] json, String name) throws IOException {
        HuggingFaceTokenizer ours = HuggingFaceTokenizer.fromJson(json, name);
        Map<String, String> plain = Map.of("padding", "false", "truncation", "false", "addSpecialTokens", "true");
        try (var ref = reference(json, plain)) {
            for (String text : SAMPLES) {
                assertSame(ref.encode(text, true, false), ours.encode(text, EncodeOptions.DEFAULT), name + " " + text);
                assertSame(ref.encode(text, false, false), ours.encode(text, EncodeOptions.DEFAULT.withSpecialTokens(false)),
                        name + " without specials: " + text);
                assertArrayEquals(ints(ref.encode(text, false, false).getIds()), ours.encode(text), name + " " + text);
            }
            for (int i = 0; i + 1 < SAMPLES.size(); i++) {
                String a = SAMPLES.get(i), b = SAMPLES.get(i + 1);
                assertSame(ref.encode(a, b, true, false), ours.encodePair(a, b, EncodeOptions.DEFAULT),
                        name + " pair " + i);
            }
            // decode: the library's text for the same ids, with and without the special tokens
            for (String text : SAMPLES) {
                long[] ids = ref.encode(text, true, false).getIds();
                int[] ours32 = ints(ids);
                assertEquals(ref.decode(ids, true), ours.decode(ours32, true), name + " decode " + text);
                assertEquals(ref.decode(ids, false), ours.decode(ours32, false), name + " decode all " + text);
            }
        }
        // padded batches: the file's padding block (side, token) with the batch's length and truncation
        for (int max : new int[] {8, 16, 33}) {
            Map<String, String> longest = Map.of("padding", "true", "truncation", "true", "maxLength",
                    Integer.toString(max));
            try (var ref = reference(json, longest)) {
                var expected = ref.batchEncode(SAMPLES);
                List<Encoding> actual = ours.encodeBatch(SAMPLES,
                        ours.fileOptions().withMaxLength(max).withPadding(EncodeOptions.Padding.LONGEST));
                for (int i = 0; i < SAMPLES.size(); i++) assertSame(expected[i], actual.get(i), name + " longest " + max + " #" + i);
                PairList<String, String> pairs = new PairList<>();
                List<String> firsts = new ArrayList<>(), seconds = new ArrayList<>();
                for (int i = 0; i + 1 < SAMPLES.size(); i++) {
                    pairs.add(SAMPLES.get(i), SAMPLES.get(SAMPLES.size() - 1 - i));
                    firsts.add(SAMPLES.get(i));
                    seconds.add(SAMPLES.get(SAMPLES.size() - 1 - i));
                }
                var expectedPairs = ref.batchEncode(pairs);
                List<Encoding> actualPairs = ours.encodePairBatch(firsts, seconds,
                        ours.fileOptions().withMaxLength(max).withPadding(EncodeOptions.Padding.LONGEST));
                for (int i = 0; i < firsts.size(); i++) {
                    assertSame(expectedPairs[i], actualPairs.get(i), name + " pair longest " + max + " #" + i);
                }
            }
            Map<String, String> fixed = Map.of("padding", "max_length", "truncation", "true", "maxLength",
                    Integer.toString(max));
            try (var ref = reference(json, fixed)) {
                var expected = ref.batchEncode(SAMPLES);
                List<Encoding> actual = ours.encodeBatch(SAMPLES,
                        ours.fileOptions().withMaxLength(max).withPadding(EncodeOptions.Padding.MAX_LENGTH));
                for (int i = 0; i < SAMPLES.size(); i++) assertSame(expected[i], actual.get(i), name + " fixed " + max + " #" + i);
            }
        }
    }

    @Test
    void miniLmWordPieceMatchesTheLibrary() throws IOException {
        conform(miniLmJson(), "all-minilm-l6-v2-tokenizer.json");
        // an anchor independent of the reference: BERT's uncased ids for these words
        HuggingFaceTokenizer ours = HuggingFaceTokenizer.fromJson(miniLmJson(), "minilm");
        Encoding e = ours.encode("Hello, WORLD! Straße", EncodeOptions.DEFAULT.withMaxLength(12)
                .withPadding(EncodeOptions.Padding.MAX_LENGTH));
        assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 2358, 27807, 102, 0, 0, 0, 0}, e.ids());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, e.attentionMask());
        assertEquals("[CLS] hello , world ! st ##raße [SEP] [PAD] [PAD] [PAD] [PAD]", String.join(" ", e.tokens()));
        assertEquals("hello, world! straße", ours.decode(e.ids(), true));
    }

    @Test
    void byteLevelBpeMatchesTheLibrary() throws IOException {
        byte[] json = Files.readAllBytes(TestData.resource("hf/bpe1024.tokenizer.json"));
        conform(json, "bpe1024.tokenizer.json");
    }

    /** The file with {@code edit} applied to its parsed JSON. */
    @SuppressWarnings("unchecked")
    static byte[] variant(byte[] json, Consumer<Map<String, Object>> edit) {
        Map<String, Object> root = (Map<String, Object>) Json.parse(json);
        edit.accept(root);
        return Json.write(root).getBytes(StandardCharsets.UTF_8);
    }

    static Object parse(String json) {
        return Json.parse(json);
    }

    @Test
    void wordPieceVariantsMatchTheLibrary() throws IOException {
        byte[] base = miniLmJson();
        conform(variant(base, r -> {
            r.put("normalizer", parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFD\"}, "
                    + "{\"type\": \"Lowercase\"}, {\"type\": \"StripAccents\"}]}"));
            r.put("pre_tokenizer", parse("{\"type\": \"Whitespace\"}"));
            r.put("post_processor", parse("{\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 102], "
                    + "\"cls\": [\"[CLS]\", 101]}"));
        }), "nfd-whitespace-bert");
        conform(variant(base, r -> {
            r.put("normalizer", parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
                    + "{\"type\": \"Lowercase\"}]}"));
            r.put("pre_tokenizer", parse("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                    + "\"WhitespaceSplit\"}, {\"type\": \"Punctuation\", \"behavior\": \"Isolated\"}, "
                    + "{\"type\": \"Digits\", \"individual_digits\": true}]}"));
            ((List<Object>) r.get("added_tokens")).add(parse("{\"id\": 30522, \"content\": \"quick brown\", "
                    + "\"single_word\": true, \"lstrip\": false, \"rstrip\": false, \"normalized\": true, "
                    + "\"special\": false}"));
            ((List<Object>) r.get("added_tokens")).add(parse("{\"id\": 30523, \"content\": \"in\", "
                    + "\"single_word\": true, \"lstrip\": true, \"rstrip\": true, \"normalized\": false, "
                    + "\"special\": false}"));
            r.put("padding", null);
            r.put("truncation", null);
        }), "nfkc-split-added");
        conform(variant(base, r -> {
            r.put("normalizer", parse("{\"type\": \"BertNormalizer\", \"clean_text\": true, "
                    + "\"handle_chinese_chars\": false, \"strip_accents\": false, \"lowercase\": false}"));
            r.put("pre_tokenizer", parse("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, "
                    + "\"behavior\": \"Removed\", \"invert\": false}"));
            ((Map<String, Object>) r.get("model")).put("max_input_chars_per_word", 12L);
        }), "cased-split");
    }

    @Test
    void byteLevelVariantsMatchTheLibrary() throws IOException {
        byte[] base = Files.readAllBytes(TestData.resource("hf/bpe1024.tokenizer.json"));
        String eot = "[\"<|endoftext|>\", 1023]";
        conform(variant(base, r -> {
            r.put("pre_tokenizer", parse("{\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
                    + "\"trim_offsets\": true, \"use_regex\": true}"));
            r.put("post_processor", parse("{\"type\": \"RobertaProcessing\", \"sep\": " + eot + ", \"cls\": "
                    + eot + ", \"trim_offsets\": true, \"add_prefix_space\": true}"));
        }), "roberta");
        String llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
                + "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
        conform(variant(base, r -> {
            r.put("normalizer", parse("{\"type\": \"NFC\"}"));
            r.put("pre_tokenizer", parse("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
                    + "\"pattern\": {\"Regex\": \"" + llama3 + "\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
                    + "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
                    + "\"use_regex\": false}]}"));
            r.put("post_processor", parse("{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
                    + "{\"id\": \"<|endoftext|>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                    + "\"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": "
                    + "\"<|endoftext|>\", \"type_id\": 1}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], "
                    + "\"special_tokens\": {\"<|endoftext|>\": {\"id\": \"<|endoftext|>\", \"ids\": [1023], "
                    + "\"tokens\": [\"<|endoftext|>\"]}}}"));
            r.put("padding", parse("{\"strategy\": \"BatchLongest\", \"direction\": \"Left\", "
                    + "\"pad_to_multiple_of\": null, \"pad_id\": 1023, \"pad_type_id\": 0, \"pad_token\": "
                    + "\"<|endoftext|>\"}"));
        }), "llama3-split-template-left");
    }

    /**
     * A Unigram model over Metaspace words: pieces are MiniLM's whole-word tokens, with and without the word-start
     * mark, scored by their vocabulary rank (an arbitrary but fixed log-probability).
     */
    @Test
    @SuppressWarnings("unchecked")
    void unigramMatchesTheLibrary() throws IOException {
        Map<String, Object> mini = (Map<String, Object>) Json.parse(miniLmJson());
        Map<String, Object> vocab = (Map<String, Object>) ((Map<String, Object>) mini.get("model")).get("vocab");
        List<Object> pieces = new ArrayList<>();
        pieces.add(List.of("<unk>", 0.0));
        pieces.add(List.of("</s>", 0.0));
        for (var e : vocab.entrySet()) {
            String w = e.getKey();
            if (w.startsWith("[") || w.startsWith("##")) continue;
            double score = -Math.log(2 + ((Long) e.getValue())) - 0.1 * w.length();
            pieces.add(List.of("\u2581" + w, score));
            pieces.add(List.of(w, score - 1.5));
        }
        pieces.add(List.of("\u2581", -3.0));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", parse("[{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}, {\"id\": 1, "
                + "\"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false, \"special\": true}]"));
        root.put("normalizer", parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
                + "{\"type\": \"Lowercase\"}, {\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, "
                + "\"content\": \" \"}]}"));
        root.put("pre_tokenizer", parse("{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", "
                + "\"prepend_scheme\": \"always\", \"split\": true}"));
        root.put("post_processor", parse("{\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": "
                + "{\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}], "
                + "\"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", "
                + "\"type_id\": 1}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 1}}], \"special_tokens\": "
                + "{\"</s>\": {\"id\": \"</s>\", \"ids\": [1], \"tokens\": [\"</s>\"]}}}"));
        root.put("decoder", parse("{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", "
                + "\"prepend_scheme\": \"always\", \"split\": true}"));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "Unigram");
        model.put("unk_id", 0L);
        model.put("vocab", pieces);
        model.put("byte_fallback", false);
        root.put("model", model);
        conform(Json.write(root).getBytes(StandardCharsets.UTF_8), "unigram-metaspace");
        // prepend_scheme "first": only the start of the input gets the word mark, not the text after </s>
        root.put("pre_tokenizer", parse("{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", "
                + "\"prepend_scheme\": \"first\", \"split\": true}"));
        root.put("decoder", parse("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", "
                + "\"pattern\": {\"String\": \"\u2581\"}, \"content\": \" \"}, {\"type\": \"Strip\", "
                + "\"content\": \" \", \"start\": 1, \"stop\": 0}]}"));
        conform(Json.write(root).getBytes(StandardCharsets.UTF_8), "unigram-metaspace-first");
    }

    /**
     * Llama 2's shape: no pre-tokenizer, a normalizer that marks spaces with ▁, a character-level BPE with
     * byte_fallback for what its vocabulary lacks, and a Replace/ByteFallback/Fuse/Strip decoder. The vocabulary is
     * bpe1024's, with 'Ġ' as '▁' and only its printable-ASCII tokens, so every non-ASCII character falls back to
     * {@code <0xXX>} bytes. A second variant has no byte fallback but an unk token with fuse_unk.
     */
    @Test
    @SuppressWarnings("unchecked")
    void characterBpeWithByteFallbackMatchesTheLibrary() throws IOException {
        Map<String, Object> source = (Map<String, Object>) Json.parse(
                Files.readAllBytes(TestData.resource("hf/bpe1024.tokenizer.json")));
        Map<String, Object> srcModel = (Map<String, Object>) source.get("model");
        Map<String, Object> vocab = new LinkedHashMap<>();
        vocab.put("<unk>", 0L);
        vocab.put("<s>", 1L);
        vocab.put("</s>", 2L);
        for (int b = 0; b < 256; b++) vocab.put(String.format("<0x%02X>", b), (long) vocab.size());
        java.util.function.Predicate<String> ascii = t -> t.chars().allMatch(c -> c == 'Ġ' || c > 32 && c < 127);
        for (String t : ((Map<String, Object>) srcModel.get("vocab")).keySet()) {
            if (ascii.test(t)) vocab.putIfAbsent(t.replace('Ġ', '\u2581'), (long) vocab.size());
        }
        List<Object> merges = new ArrayList<>();
        for (Object m : (List<Object>) srcModel.get("merges")) {
            List<String> pair = (List<String>) m;
            if (ascii.test(pair.get(0)) && ascii.test(pair.get(1))) {
                merges.add(List.of(pair.get(0).replace('Ġ', '\u2581'), pair.get(1).replace('Ġ', '\u2581')));
            }
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", "<unk>");
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        model.put("vocab", vocab);
        model.put("merges", merges);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", parse("[{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}, {\"id\": 1, "
                + "\"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false, \"special\": true}, {\"id\": 2, \"content\": \"</s>\", "
                + "\"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, "
                + "\"special\": true}]"));
        root.put("normalizer", parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", "
                + "\"prepend\": \"\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
                + "\"content\": \"\u2581\"}]}"));
        root.put("pre_tokenizer", null);
        root.put("post_processor", parse("{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
                + "{\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                + "\"pair\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": "
                + "\"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 1}}, "
                + "{\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], \"special_tokens\": {\"<s>\": {\"id\": "
                + "\"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}}"));
        root.put("decoder", parse("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", "
                + "\"pattern\": {\"String\": \"\u2581\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, "
                + "{\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, "
                + "\"stop\": 0}]}"));
        root.put("model", model);
        conform(Json.write(root).getBytes(StandardCharsets.UTF_8), "llama-style-bpe");
        model.put("byte_fallback", false);
        conform(Json.write(root).getBytes(StandardCharsets.UTF_8), "char-bpe-fused-unk");
    }
}
