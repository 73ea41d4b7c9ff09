package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CharTokenizerTest {
    @TempDir
    Path dir;

    @Test
    void idsFollowSortedCodePoints() {
        CharTokenizer tok = CharTokenizer.fromText("hello world");
        assertEquals(8, tok.vocabSize()); // ' ' d e h l o r w
        assertArrayEquals(new int[] {3, 2, 4, 4, 5, 0, 7, 5, 6, 4, 1}, tok.encode("hello world"));
        assertEquals("hello world", tok.decode(tok.encode("hello world")));
        assertEquals("world hello", tok.decode(tok.encode("world hello")));
        assertTrue(tok.eosTokenId().isEmpty());
        assertArrayEquals(new int[0], tok.encode(""));
    }

    @Test
    void supplementaryCharactersAreOneToken() {
        CharTokenizer tok = CharTokenizer.fromText("a😀b\n日");
        assertEquals(5, tok.vocabSize());
        int[] ids = tok.encode("😀😀\na日");
        assertEquals(5, ids.length);
        assertEquals(4, ids[0]); // U+1F600 sorts last
        assertEquals("😀😀\na日", tok.decode(ids));
    }

    @Test
    void unknownCharacterIsNamedWithItsIndex() {
        CharTokenizer tok = CharTokenizer.fromText("abc ");
        var e = assertThrows(IllegalArgumentException.class, () -> tok.encode("ab cz"));
        assertTrue(e.getMessage().contains("'z' (U+007A) at index 4"), e.getMessage());
        var nl = assertThrows(IllegalArgumentException.class, () -> tok.encode("a\nb"));
        assertTrue(nl.getMessage().contains("'\\n' (U+000A) at index 1"), nl.getMessage());
        var emoji = assertThrows(IllegalArgumentException.class, () -> tok.encode("a😀"));
        assertTrue(emoji.getMessage().contains("'😀' (U+1F600) at index 1"), emoji.getMessage());
    }

    @Test
    void badIdsAndCorporaAreRejected() {
        CharTokenizer tok = CharTokenizer.fromText("ab");
        var e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {0, 1, 2}));
        assertTrue(e.getMessage().contains("id 2 at position 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> CharTokenizer.fromText(""));
        var s = assertThrows(IllegalArgumentException.class, () -> CharTokenizer.fromText("ab\uD800c"));
        assertTrue(s.getMessage().contains("U+D800 at index 2"), s.getMessage());
    }

    @Test
    void savesAsHuggingFaceWordLevelAndLoadsBack() throws IOException {
        String corpus = "First Citizen:\nBefore we proceed, hear me speak. Café 😀 \"quoted\" \\ back\tslash";
        CharTokenizer tok = CharTokenizer.fromText(corpus);
        Path file = dir.resolve("tokenizer.json");
        tok.save(file);
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) Json.parse(Files.readAllBytes(file));
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) root.get("model");
        assertEquals("WordLevel", model.get("type"));
        assertEquals(Map.of("type", "Fuse"), root.get("decoder"));
        assertEquals(Map.of("type", "Split", "pattern", Map.of("Regex", "[\\s\\S]"), "behavior", "Isolated",
                "invert", false), root.get("pre_tokenizer"));
        assertEquals(List.of(), root.get("added_tokens"));

        Tokenizer back = Tokenizer.load(file);
        CharTokenizer loaded = assertInstanceOf(CharTokenizer.class, back);
        assertEquals(tok.vocabSize(), loaded.vocabSize());
        assertArrayEquals(tok.encode(corpus), loaded.encode(corpus));
        assertEquals(corpus, loaded.decode(loaded.encode(corpus)));
    }

    /** The form that Kindling's runs wrote before: a BPE model without merges or pre-tokenizer. */
    @Test
    void loadsTheEarlierMergelessBpeForm() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],"
                + "\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,\"decoder\":{\"type\":\"Fuse\"},"
                + "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
                + "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"vocab\":{\"\\n\":0,\" \":1,\"+\":2,\"0\":3,\"1\":4},"
                + "\"merges\":[]}}");
        CharTokenizer tok = assertInstanceOf(CharTokenizer.class, Tokenizer.load(file));
        assertArrayEquals(new int[] {4, 2, 3, 0}, tok.encode("1+0\n"));
        assertEquals(5, tok.vocabSize());
    }

    /** nanoGPT's shakespeare_char: 65 characters, and the whole text round-trips. */
    @Test
    void tinyShakespeareHas65Characters() throws IOException {
        String text = Files.readString(TestData.tinyShakespeare(), StandardCharsets.UTF_8);
        CharTokenizer tok = CharTokenizer.fromText(text);
        assertEquals(65, tok.vocabSize());
        int[] ids = tok.encode(text);
        assertEquals(1_115_394, ids.length);
        assertEquals(text, tok.decode(ids));
    }
}
