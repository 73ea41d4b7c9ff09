package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.FileFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny hand-written BERT tokenizer.json: WordPiece, padding, truncation, pairs, decoding, and load errors. */
class HuggingFaceTokenizerTest {
    @TempDir
    Path dir;

    static final String VOCAB = "{\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"un\": 4, \"##aff\": 5, "
            + "\"##able\": 6, \"a\": 7, \"cafe\": 8, \",\": 9, \"!\": 10, \"##s\": 11, \"run\": 12}";
    static final String SPECIALS = "[" + special(0, "[PAD]") + ", " + special(1, "[UNK]") + ", "
            + special(2, "[CLS]") + ", " + special(3, "[SEP]") + "]";

    static String special(int id, String content) {
        return "{\"id\": " + id + ", \"content\": \"" + content + "\", \"single_word\": false, \"lstrip\": false, "
                + "\"rstrip\": false, \"normalized\": false, \"special\": true}";
    }

    static String bert(String normalizer, String pre, String model, String post, String decoder) {
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": " + SPECIALS
                + ", \"normalizer\": " + normalizer + ", \"pre_tokenizer\": " + pre + ", \"post_processor\": " + post
                + ", \"decoder\": " + decoder + ", \"model\": " + model + "}";
    }

    static final String NORMALIZER = "{\"type\": \"BertNormalizer\", \"clean_text\": true, "
            + "\"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true}";
    static final String PRE = "{\"type\": \"BertPreTokenizer\"}";
    static final String MODEL = "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": "
            + "\"##\", \"max_input_chars_per_word\": 10, \"vocab\": " + VOCAB + "}";
    static final String POST = "{\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]}";
    static final String DECODER = "{\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true}";

    static HuggingFaceTokenizer tiny() throws FileFormatException {
        return HuggingFaceTokenizer.fromJson(bert(NORMALIZER, PRE, MODEL, POST, DECODER)
                .getBytes(StandardCharsets.UTF_8), "tiny.json");
    }

    @Test
    void wordPieceGreedyLongestMatchWithUnknownWords() throws IOException {
        HuggingFaceTokenizer t = tiny();
        // "Unaffable" → un ##aff ##able; "Café" loses its accent; "runs!!" → run ##s ! !; "xyz" and the long
        // word (12 > 10 characters) become one [UNK] each
        assertArrayEquals(new int[] {4, 5, 6, 8, 9, 12, 11, 10, 10, 1, 1},
                t.encode("Unaffable Café, runs!! xyz unaffablesss"));
        Encoding e = t.encode("a cafe", EncodeOptions.DEFAULT);
        assertArrayEquals(new int[] {2, 7, 8, 3}, e.ids());
        assertArrayEquals(new String[] {"[CLS]", "a", "cafe", "[SEP]"}, e.tokens());
        assertArrayEquals(new int[] {1, 0, 0, 1}, e.specialTokensMask());
        assertEquals("unaffable cafe, runs!", t.decode(t.encode("Unaffable café, runs!")));
        assertEquals("[CLS] a cafe [SEP]", t.decode(e.ids()));
        assertEquals("a cafe", t.decode(e.ids(), true));
        assertEquals(13, t.vocabSize());
        assertEquals(5, t.tokenToId("##aff").orElseThrow());
        assertEquals("##able", t.idToToken(6));
    }

    @Test
    void batchPaddingTruncationAndPairs() throws IOException {
        HuggingFaceTokenizer t = tiny();
        List<Encoding> batch = t.encodeBatch(List.of("a", "unaffable cafe"),
                EncodeOptions.DEFAULT.withPadding(EncodeOptions.Padding.LONGEST));
        assertArrayEquals(new int[] {2, 7, 3, 0, 0, 0}, batch.get(0).ids());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0, 0}, batch.get(0).attentionMask());
        assertArrayEquals(new int[] {2, 4, 5, 6, 8, 3}, batch.get(1).ids());
        List<Encoding> left = t.encodeBatch(List.of("a"), EncodeOptions.DEFAULT.withMaxLength(5)
                .withPadding(EncodeOptions.Padding.MAX_LENGTH).withPadLeft(true));
        assertArrayEquals(new int[] {0, 0, 2, 7, 3}, left.getFirst().ids());
        assertArrayEquals(new int[] {0, 0, 1, 1, 1}, left.getFirst().attentionMask());
        // truncation keeps [CLS] and [SEP]: 4 tokens of budget for the text
        assertArrayEquals(new int[] {2, 4, 5, 6, 8, 3}, t.encode("unaffable cafe a a", EncodeOptions.DEFAULT
                .withMaxLength(6)).ids());
        Encoding pair = t.encodePair("a cafe", "run", EncodeOptions.DEFAULT);
        assertArrayEquals(new int[] {2, 7, 8, 3, 12, 3}, pair.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1}, pair.typeIds());
        // longest first: the longer text gives up tokens first
        assertArrayEquals(new int[] {2, 4, 5, 3, 12, 3}, t.encodePair("unaffable", "run", EncodeOptions.DEFAULT
                .withMaxLength(6)).ids());
        assertArrayEquals(new int[] {2, 2}, HuggingFaceTokenizer.longestFirst(5, 9, 4));
        assertArrayEquals(new int[] {1, 3}, HuggingFaceTokenizer.longestFirst(1, 9, 4));
        assertArrayEquals(new int[] {3, 2}, HuggingFaceTokenizer.longestFirst(9, 2, 5));
        assertEquals("encode: maxLength 1 is shorter than the 2 special tokens the post-processor adds",
                assertThrows(IllegalArgumentException.class, () -> t.encode("a", EncodeOptions.DEFAULT.withMaxLength(1)))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> EncodeOptions.DEFAULT.withPadding(EncodeOptions.Padding.MAX_LENGTH));
        assertThrows(IllegalArgumentException.class,
                () -> t.encode("a", EncodeOptions.DEFAULT.withPadding(EncodeOptions.Padding.LONGEST).withPadToken("<nope>")));
    }

    @Test
    void savesAndLoadsThroughTheCommonLoader() throws IOException {
        HuggingFaceTokenizer t = tiny();
        Path file = dir.resolve("tokenizer.json");
        t.save(file);
        Tokenizer back = Tokenizer.load(file);
        assertTrue(back instanceof HuggingFaceTokenizer);
        assertArrayEquals(t.encode("Unaffable café, runs!"), back.encode("Unaffable café, runs!"));
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {7, 13}));
    }

    private static String failure(String json) {
        var e = assertThrows(FileFormatException.class,
                () -> HuggingFaceTokenizer.fromJson(json.getBytes(StandardCharsets.UTF_8), "bad.json"));
        assertTrue(e.getMessage().startsWith("tokenizer.json: bad.json: "), e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String part) {
        assertTrue(message.contains(part), () -> "'" + message + "' should contain '" + part + "'");
    }

    @Test
    void malformedPartsAreNamed() {
        assertContains(failure(bert("{\"type\": \"Fancy\"}", PRE, MODEL, POST, DECODER)),
                "normalizer: unknown normalizer type 'Fancy'");
        assertContains(failure(bert("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": 7}]}",
                PRE, MODEL, POST, DECODER)), "normalizer.normalizers[1].type is a number, expected a string");
        assertContains(failure(bert(NORMALIZER, "{\"type\": \"Chop\"}", MODEL, POST, DECODER)),
                "pre_tokenizer: unknown pre-tokenizer type 'Chop'");
        assertContains(failure(bert(NORMALIZER, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, "
                + "\"behavior\": \"Isolated\"}", MODEL, POST, DECODER)), "pre_tokenizer.pattern: regex \"(\" does not compile");
        assertContains(failure(bert(NORMALIZER, "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, "
                + "\"behavior\": \"Sideways\"}", MODEL, POST, DECODER)), "pre_tokenizer.behavior is \"Sideways\"");
        assertContains(failure(bert(NORMALIZER, PRE, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\"}", POST,
                DECODER)), "no \"model.vocab\" object");
        assertContains(failure(bert(NORMALIZER, PRE, MODEL.replace("\"unk_token\": \"[UNK]\"", "\"unk_token\": \"<unk>\""),
                POST, DECODER)), "model.unk_token \"<unk>\" is not in model.vocab");
        assertContains(failure(bert(NORMALIZER, PRE, MODEL, "{\"type\": \"TemplateProcessing\", \"single\": "
                + "[{\"SpecialToken\": {\"id\": \"[BOS]\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}",
                DECODER)), "post_processor.single[0]: special token \"[BOS]\" is not in post_processor.special_tokens");
        assertContains(failure(bert(NORMALIZER, PRE, MODEL, "{\"type\": \"Nope\"}", DECODER)),
                "post_processor: unknown post-processor type 'Nope'");
        assertContains(failure(bert(NORMALIZER, PRE, MODEL, POST, "{\"type\": \"Nope\"}")),
                "decoder: unknown decoder type 'Nope'");
        assertContains(failure(bert(NORMALIZER, PRE, "{\"type\": \"Unigram\", \"unk_id\": 9, \"vocab\": [[\"a\", -1.0]]}",
                "null", "null")), "model.unk_id is 9, expected an index into model.vocab (0 to 0) or null");
        assertContains(failure(bert(NORMALIZER, PRE, "{\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}", "null", "null")),
                "model.vocab[0] is [\"a\"], expected [\"piece\", score]");
        assertContains(failure("{\"model\": " + MODEL + ", \"padding\": {\"strategy\": \"Sometimes\"}}"),
                "padding.strategy is \"Sometimes\"");
        assertContains(failure("{\"model\": " + MODEL + ", \"added_tokens\": [{\"id\": 40}]}"),
                "added_tokens[0].content is missing, expected a string");
        assertContains(failure("{\"model\": " + MODEL), "malformed JSON");
    }
}
