package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPT-2's published vocabulary against the reference encoder: the ids in gpt2_ids.json were written by
 * tools/gpt2/make_fixture.js with the gpt-3-encoder package (a port of OpenAI's encoder.py).
 */
class Gpt2ConformanceTest {
    static ByteLevelBpeTokenizer gpt2;
    static List<String> texts = new ArrayList<>();
    static List<int[]> expected = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void load() throws IOException {
        gpt2 = ByteLevelBpeTokenizer.fromGpt2Files(TestData.resource("gpt2/encoder.json.gz"),
                TestData.resource("gpt2/vocab.bpe.gz"));
        var fixture = (Map<String, Object>) Json.parse(Files.readAllBytes(TestData.resource("gpt2_ids.json")));
        for (Object o : (List<Object>) fixture.get("samples")) {
            var sample = (Map<String, Object>) o;
            texts.add((String) sample.get("text"));
            expected.add(((List<Object>) sample.get("ids")).stream().mapToInt(x -> ((Long) x).intValue()).toArray());
        }
        assertTrue(texts.size() >= 60, "fixture has " + texts.size() + " samples");
    }

    @Test
    void vocabularyShape() {
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50000, gpt2.mergeCount());
        assertEquals(50256, gpt2.eosTokenId().orElseThrow());
    }

    @Test
    void identicalIdsToTheReferenceEncoder() {
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            assertArrayEquals(expected.get(i), gpt2.encode(text), () -> "sample " + Json.write(text));
            assertEquals(text, gpt2.decode(expected.get(i)));
        }
    }

    /** nanoGPT's data/shakespeare/prepare.py (tiktoken "gpt2"): "train has 301,966 tokens, val has 36,059 tokens". */
    @Test
    void tinyShakespeareCountsMatchNanoGpt() throws IOException {
        String data = Files.readString(TestData.tinyShakespeare(), StandardCharsets.UTF_8);
        int n = data.length();
        String train = data.substring(0, (int) (n * 0.9));
        String val = data.substring((int) (n * 0.9));
        assertEquals(301_966, gpt2.encode(train).length);
        assertEquals(36_059, gpt2.encode(val).length);
        assertEquals(data, gpt2.decode(gpt2.encode(data)));
    }

    @Test
    void endOfTextIsOneId() {
        int[] hello = gpt2.encode("Hello");
        int[] world = gpt2.encode(" world");
        int[] joined = gpt2.encode("Hello<|endoftext|> world<|endoftext|>");
        int[] want = new int[hello.length + world.length + 2];
        System.arraycopy(hello, 0, want, 0, hello.length);
        want[hello.length] = 50256;
        System.arraycopy(world, 0, want, hello.length + 1, world.length);
        want[want.length - 1] = 50256;
        assertArrayEquals(want, joined);
        assertEquals("Hello<|endoftext|> world<|endoftext|>", gpt2.decode(joined));
        assertArrayEquals(new int[] {50256, 50256}, gpt2.encode("<|endoftext|><|endoftext|>"));
        // Not the special token: a near miss is ordinary text.
        assertEquals("<|endoftext|", gpt2.decode(gpt2.encode("<|endoftext|")));
        assertTrue(Arrays.stream(gpt2.encode("<|endoftext|")).noneMatch(id -> id == 50256));
    }

    @Test
    void cutInsideACharacterDecodesToReplacement() {
        int[] ids = gpt2.encode("😀");
        assertTrue(ids.length > 1, "the emoji spans several byte tokens");
        assertTrue(gpt2.decode(Arrays.copyOf(ids, 1)).contains("\uFFFD"));
    }

    /** The heap-ordered merge loop gives what GPT-2's loop (best bigram everywhere, repeat) gives. */
    @Test
    void mergeOrderMatchesTheReferenceLoopOnLongAndRandomWords() throws IOException {
        Map<String, Integer> ranks = new HashMap<>();
        String[] lines = gunzip(TestData.resource("gpt2/vocab.bpe.gz")).split("\n");
        for (int i = 1; i < lines.length; i++) if (!lines[i].isEmpty()) ranks.putIfAbsent(lines[i], i - 1);
        Random random = new Random(7);
        String letters = "abcdefghijklmnopqrstuvwxyzeeeeetttaaoinshr";
        for (int trial = 0; trial < 300; trial++) {
            int n = trial < 5 ? 300 + random.nextInt(500) : 1 + random.nextInt(40);
            StringBuilder sb = new StringBuilder(trial % 2 == 0 ? " " : "");
            for (int i = 0; i < n; i++) sb.append(letters.charAt(random.nextInt(letters.length())));
            String word = sb.toString();
            List<String> reference = referenceBpe(ByteLevel.toAlphabet(word.getBytes(StandardCharsets.UTF_8)), ranks);
            int[] ids = gpt2.bpe(word, 0);
            assertEquals(reference.size(), ids.length, word);
            for (int i = 0; i < ids.length; i++) {
                String token = ByteLevel.toAlphabet(gpt2.decode(new int[] {ids[i]}).getBytes(StandardCharsets.UTF_8));
                assertEquals(reference.get(i), token, word);
            }
        }
    }

    /** OpenAI's encoder.py bpe(): merge the lowest-ranked bigram at every position, repeat. */
    static List<String> referenceBpe(String token, Map<String, Integer> ranks) {
        List<String> word = new ArrayList<>();
        for (char c : token.toCharArray()) word.add(String.valueOf(c));
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < word.size(); ) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(word.get(i++));
                }
            }
            word = merged;
        }
        return word;
    }

    @Test
    void huggingFaceFileRoundTrip() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        gpt2.save(file);
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) Json.parse(Files.readAllBytes(file));
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) root.get("model");
        assertEquals("BPE", model.get("type"));
        assertEquals("Ġ t", ((List<?>) model.get("merges")).get(0));
        assertEquals(50257, ((Map<?, ?>) model.get("vocab")).size());
        assertEquals(50256L, ((Map<?, ?>) ((List<?>) root.get("added_tokens")).get(0)).get("id"));

        ByteLevelBpeTokenizer back = assertInstanceOf(ByteLevelBpeTokenizer.class, Tokenizer.load(file));
        assertEquals(50257, back.vocabSize());
        for (int i = 0; i < texts.size(); i++) assertArrayEquals(expected.get(i), back.encode(texts.get(i)));
        assertArrayEquals(new int[] {50256}, back.encode("<|endoftext|>"));
    }

    static String gunzip(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
