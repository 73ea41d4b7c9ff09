package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.FileFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed tokenizer.json and GPT-2 files: each gives a FileFormatException naming the file and the fault. */
class TokenizerFileErrorsTest {
    @TempDir
    Path dir;

    private static final String BPE_HEAD = "{\"added_tokens\": [], \"normalizer\": null, "
            + "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, "
            + "\"decoder\": {\"type\": \"ByteLevel\"}, ";

    /** A valid file: the bytes 'a' and 'b' (ids 0 and 1), merged into "ab" (id 2). */
    private static String bpe(String vocab, String merges) {
        return BPE_HEAD + "\"model\": {\"type\": \"BPE\", \"vocab\": " + vocab + ", \"merges\": " + merges + "}}";
    }

    private String failure(String json) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        var e = assertThrows(FileFormatException.class, () -> Tokenizer.load(file));
        assertTrue(e.getMessage().startsWith("tokenizer.json: " + file + ": "), e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String part) {
        assertTrue(message.contains(part), () -> "'" + message + "' should contain '" + part + "'");
    }

    @Test
    void minimalHandWrittenFilesLoad() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"a b\"]"));
        Tokenizer tok = Tokenizer.load(file);
        assertArrayEquals(new int[] {2, 0, 2}, tok.encode("abaab"));
        // The newer merges form, pairs as arrays.
        Files.writeString(file, bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[[\"a\", \"b\"]]"));
        assertArrayEquals(new int[] {2, 0, 2}, Tokenizer.load(file).encode("abaab"));
        // A byte the vocabulary lacks is named at encode time.
        var e = assertThrows(IllegalArgumentException.class, () -> tok.encode("abc"));
        assertContains(e.getMessage(), "byte 0x63 of \"abc\" at index 0 has no token");
    }

    @Test
    void addPrefixSpaceIsApplied() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, bpe("{\"a\": 0, \"Ġ\": 1, \"Ġa\": 2}", "[\"Ġ a\"]")
                .replace("\"add_prefix_space\": false", "\"add_prefix_space\": true"));
        Tokenizer tok = Tokenizer.load(file);
        assertArrayEquals(new int[] {2, 2}, tok.encode("a a"));
        assertArrayEquals(new int[] {2}, tok.encode(" a"));
    }

    @Test
    void truncatedJson() throws IOException {
        Path ok = dir.resolve("ok.json");
        ByteLevelBpeTokenizer.train("some text to learn from", 270, Set.of("<|endoftext|>")).save(ok);
        String full = Files.readString(ok);
        String message = failure(full.substring(0, full.length() / 2));
        assertContains(message, "malformed JSON");
        assertContains(message, "at byte");
        assertContains(failure(""), "malformed JSON: unexpected end of input");
    }

    @Test
    void missingOrWrongModel() throws IOException {
        assertContains(failure("{\"version\": \"1.0\"}"), "no \"model\" object");
        assertContains(failure("{\"model\": [1]}"), "\"model\" is an array, not an object");
        assertContains(failure("{\"model\": {}}"), "model.type is missing, expected a string");
        assertContains(failure("{\"model\": {\"type\": \"Unigram\"}}"), "model.vocab is missing, expected an array");
        assertContains(failure("{\"model\": {\"type\": \"Magic\"}}"),
                "model: unknown model type 'Magic' (supported: WordPiece, BPE, Unigram)");
        assertContains(failure("[1, 2]"), "the top level is an array, not an object");
        assertContains(failure(bpe("{\"a\": 0}", "[]").replace("\"vocab\": {\"a\": 0}, ", "")),
                "no \"model.vocab\" object");
        assertContains(failure(bpe("{\"a\": 0}", "[]").replace(", \"merges\": []", "")),
                "model.merges is missing, expected an array");
    }

    @Test
    void mergesReferringToUnknownTokens() throws IOException {
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"a b\", \"a c\"]")),
                "model.merges 1 \"a c\": \"c\" is not in the vocabulary");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"x b\"]")),
                "model.merges 0 \"x b\": \"x\" is not in the vocabulary");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1}", "[\"a b\"]")),
                "model.merges 0 \"a b\": the merged token \"ab\" is not in the vocabulary");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"ab\"]")),
                "model.merges[0] is \"ab\", expected \"a b\" or [\"a\", \"b\"]");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[[\"a\"]]")),
                "model.merges[0] is [\"a\"]");
    }

    @Test
    void badIds() throws IOException {
        assertContains(failure(bpe("{\"a\": 0, \"b\": 2}", "[]")), "no token has id 1 (ids must run from 0 to 2");
        assertContains(failure(bpe("{\"a\": 0, \"b\": -1}", "[]")),
                "model.vocab[\"b\"] is -1, expected a token id");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 0}", "[]")), "id 0 is given to both \"a\" and \"b\"");
        assertContains(failure(bpe("{\"a\": 0, \"b\": \"1\"}", "[]")),
                "model.vocab[\"b\"] is a string, expected a token id");
        assertContains(failure(bpe("{\"a\": 0, \"b\": 1}", "[]").replace("\"added_tokens\": []",
                "\"added_tokens\": [{\"id\": 1, \"content\": \"<s>\"}]")),
                "id 1 is vocabulary token \"b\" and also added token \"<s>\"");
    }

    /** BPE files with more than GPT-2's byte-level parts run through the general pipeline. */
    @Test
    void otherBpePipelinesLoadAsHuggingFaceTokenizers() throws IOException {
        String base = bpe("{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"a b\"]");
        for (String json : new String[] {
                base.replace("\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}"),
                base.replace("\"type\": \"ByteLevel\", \"add_prefix_space\"", "\"type\": \"Whitespace\", \"add_prefix_space\""),
                base.replace("\"decoder\": {\"type\": \"ByteLevel\"}", "\"decoder\": {\"type\": \"WordPiece\"}"),
                base.replace("\"type\": \"BPE\",", "\"type\": \"BPE\", \"continuing_subword_prefix\": \"##\",")}) {
            Path file = dir.resolve("tokenizer.json");
            Files.writeString(file, json, StandardCharsets.UTF_8);
            Tokenizer t = Tokenizer.load(file);
            assertTrue(t instanceof HuggingFaceTokenizer, json);
        }
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, base.replace("\"type\": \"ByteLevel\", \"add_prefix_space\"",
                "\"type\": \"Whitespace\", \"add_prefix_space\""), StandardCharsets.UTF_8);
        assertArrayEquals(new int[] {2, 0, 2}, Tokenizer.load(file).encode("ab a ab"));
    }

    @Test
    void wordLevelMustBeACharacterVocabulary() throws IOException {
        String split = "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"[\\\\s\\\\S]\"}, "
                + "\"behavior\": \"Isolated\", \"invert\": false}";
        assertContains(failure("{" + split + ", \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, "
                + "\"bc\": 1}, \"unk_token\": \"<unk>\"}}"), "model.vocab entry \"bc\" (id 1) is not a single character");
        assertContains(failure("{" + split + ", \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, "
                + "\"b\": 5}, \"unk_token\": \"<unk>\"}}"), "\"b\" has id 5 but the vocabulary has only 2 entries");
        assertContains(failure("{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"WordLevel\", "
                + "\"vocab\": {\"a\": 0}, \"unk_token\": \"<unk>\"}}"), "a WordLevel model is read only as a character "
                + "vocabulary");
        Path file = dir.resolve("chars.json");
        Files.writeString(file, "{" + split + ", \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"b\": 0, \"a\": 1}, "
                + "\"unk_token\": \"<unk>\"}}");
        Tokenizer tok = Tokenizer.load(file);
        assertArrayEquals(new int[] {1, 0}, tok.encode("ab"));
    }

    @Test
    void gpt2FilesErrors() throws IOException {
        Path encoder = dir.resolve("encoder.json");
        Path merges = dir.resolve("vocab.bpe");
        Files.writeString(encoder, "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|endoftext|>\": 3}");
        Files.writeString(merges, "#version: 0.2\na b\n");
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.fromGpt2Files(encoder, merges);
        assertArrayEquals(new int[] {2, 3, 0}, tok.encode("ab<|endoftext|>a"));
        assertEquals(3, tok.eosTokenId().orElseThrow());

        Files.writeString(merges, "#version: 0.2\na b\nb  a\n");
        var e = assertThrows(FileFormatException.class, () -> ByteLevelBpeTokenizer.fromGpt2Files(encoder, merges));
        assertContains(e.getMessage(), "gpt2 vocab.bpe: " + merges + ": line 3 \"b  a\" is not a merge");
        Files.writeString(merges, "#version: 0.2\na b\nb x\n");
        e = assertThrows(FileFormatException.class, () -> ByteLevelBpeTokenizer.fromGpt2Files(encoder, merges));
        assertContains(e.getMessage(), "gpt2 vocab.bpe: " + merges + ": merge 1 \"b x\": \"x\" is not in the vocabulary");
        Files.writeString(encoder, "{\"a\": 0, \"b\": 1,");
        e = assertThrows(FileFormatException.class, () -> ByteLevelBpeTokenizer.fromGpt2Files(encoder, merges));
        assertContains(e.getMessage(), "gpt2 encoder.json: " + encoder + ": malformed JSON");
    }
}
