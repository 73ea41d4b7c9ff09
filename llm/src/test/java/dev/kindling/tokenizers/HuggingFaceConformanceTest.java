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
            "URLs https://example.com/path?q=1&r=two#frag and e-mail foo.bar@example.org");

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
        for (int max : new int[] {8, 16, 33}) {
            Map<String, String> longest = Map.of("padding", "true", "truncation", "true", "maxLength",
                    Integer.toString(max));
            try (var ref = reference(json, longest)) {
                var expected = ref.batchEncode(SAMPLES);
                List<Encoding> actual = ours.encodeBatch(SAMPLES,
                        EncodeOptions.DEFAULT.withMaxLength(max).withPadding(EncodeOptions.Padding.LONGEST));
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
                        EncodeOptions.DEFAULT.withMaxLength(max).withPadding(EncodeOptions.Padding.LONGEST));
                for (int i = 0; i < firsts.size(); i++) {
                    assertSame(expectedPairs[i], actualPairs.get(i), name + " pair longest " + max + " #" + i);
                }
            }
            Map<String, String> fixed = Map.of("padding", "max_length", "truncation", "true", "maxLength",
                    Integer.toString(max));
            try (var ref = reference(json, fixed)) {
                var expected = ref.batchEncode(SAMPLES);
                List<Encoding> actual = ours.encodeBatch(SAMPLES,
                        EncodeOptions.DEFAULT.withMaxLength(max).withPadding(EncodeOptions.Padding.MAX_LENGTH));
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
}
