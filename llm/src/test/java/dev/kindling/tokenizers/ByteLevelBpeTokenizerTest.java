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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelBpeTokenizerTest {
    @TempDir
    Path dir;

    static final String CORPUS = """
            First Citizen:
            Before we proceed any further, hear me speak.<|endoftext|>All:
            Speak, speak.

            First Citizen:
            You are all resolved rather to die than to famish?   It's 1,234 times   worse.
            Café, naïve, 日本語, 😀😀 — "quotes" and 'apostrophes' they're we'll.
            """.repeat(3);

    @Test
    void trainingGivesTheRequestedVocabulary() {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(CORPUS, 300, Set.of("<|endoftext|>"));
        assertEquals(300, tok.vocabSize());
        assertEquals(299, tok.eosTokenId().orElseThrow());
        assertEquals(300 - 256 - 1, tok.mergeCount());
        assertEquals(Map.of("<|endoftext|>", 299), tok.specialTokens());
        assertEquals(CORPUS, tok.decode(tok.encode(CORPUS)));
        assertTrue(tok.encode(CORPUS).length < CORPUS.getBytes(StandardCharsets.UTF_8).length * 3 / 4,
                "merges compress the corpus they were learned from");
        // Byte ids follow GPT-2's order: '!' is 0, 'Ġ' (the space) is 220.
        assertArrayEquals(new int[] {0}, tok.encode("!"));
        assertArrayEquals(new int[] {220}, ByteLevelBpeTokenizer.train("x", 256, Set.of()).encode(" "));
    }

    @Test
    void trainingIsDeterministic() throws IOException {
        ByteLevelBpeTokenizer a = ByteLevelBpeTokenizer.train(CORPUS, 320, Set.of("<|endoftext|>", "<pad>"));
        ByteLevelBpeTokenizer b = ByteLevelBpeTokenizer.train(CORPUS, 320, Set.of("<pad>", "<|endoftext|>"));
        a.save(dir.resolve("a.json"));
        b.save(dir.resolve("b.json"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("a.json")), Files.readAllBytes(dir.resolve("b.json")));
        assertEquals(Map.of("<pad>", 318, "<|endoftext|>", 319), a.specialTokens()); // sorted: '<p' < '<|'
    }

    @Test
    void trainingStopsWhenNoPairIsLeft() {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train("abab", 1000, Set.of());
        assertEquals(2, tok.mergeCount()); // "ab", then "abab"
        assertEquals(258, tok.vocabSize());
        assertEquals(1, tok.encode("abab").length);
    }

    /** The incremental trainer learns exactly the merges that recounting every pair at every step learns. */
    @Test
    void incrementalCountsMatchRecountingFromScratch() {
        Random random = new Random(42);
        String[] pieces = {"the", " the", " cat", " sat", "at", " on", " mat", "aa", "aaa", " a", "ab", "ba", "\n",
            "  ", "!", "é", "日本", "😀", "'s", " 12", "3"};
        for (int trial = 0; trial < 20; trial++) {
            StringBuilder sb = new StringBuilder();
            int n = 20 + random.nextInt(200);
            for (int i = 0; i < n; i++) sb.append(pieces[random.nextInt(pieces.length)]);
            String corpus = sb.toString();
            int vocab = 256 + 1 + random.nextInt(60);
            ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(corpus, vocab, Set.of());
            List<String> want = naiveMerges(corpus, vocab - 256);
            assertEquals(want, merges(tok), "corpus " + Json.write(corpus));
            assertEquals(corpus, tok.decode(tok.encode(corpus)));
        }
    }

    /** Recounts all pairs at each step; ties go to the smaller ids. Returns merges as "left right" texts. */
    static List<String> naiveMerges(String corpus, int maxNewTokens) {
        char[] alphabet = ByteLevel.BYTE_TO_CHAR.clone();
        Arrays.sort(alphabet);
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (char c : alphabet) {
            ids.put(String.valueOf(c), tokens.size());
            tokens.add(String.valueOf(c));
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        Matcher m = ByteLevel.GPT2_PATTERN.matcher(corpus);
        while (m.find()) counts.merge(m.group(), 1, Integer::sum);
        List<List<Integer>> words = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        for (var e : counts.entrySet()) {
            List<Integer> w = new ArrayList<>();
            for (char c : ByteLevel.toAlphabet(e.getKey().getBytes(StandardCharsets.UTF_8)).toCharArray()) {
                w.add(ids.get(String.valueOf(c)));
            }
            words.add(w);
            freqs.add(e.getValue());
        }
        List<String> merges = new ArrayList<>();
        while (tokens.size() < 256 + maxNewTokens) {
            Map<List<Integer>, Integer> pairs = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                for (int i = 0; i + 1 < words.get(w).size(); i++) {
                    pairs.merge(List.of(words.get(w).get(i), words.get(w).get(i + 1)), freqs.get(w), Integer::sum);
                }
            }
            if (pairs.isEmpty()) break;
            List<Integer> best = null;
            for (var e : pairs.entrySet()) {
                List<Integer> p = e.getKey();
                if (best == null || e.getValue() > pairs.get(best) || (e.getValue().equals(pairs.get(best))
                        && (p.get(0) < best.get(0) || (p.get(0).equals(best.get(0)) && p.get(1) < best.get(1))))) {
                    best = p;
                }
            }
            String text = tokens.get(best.get(0)) + tokens.get(best.get(1));
            merges.add(tokens.get(best.get(0)) + " " + tokens.get(best.get(1)));
            Integer merged = ids.get(text);
            if (merged == null) {
                merged = tokens.size();
                tokens.add(text);
                ids.put(text, merged);
            }
            for (List<Integer> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) {
                    if (w.get(i).equals(best.get(0)) && w.get(i + 1).equals(best.get(1))) {
                        w.set(i, merged);
                        w.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    @SuppressWarnings("unchecked")
    private List<String> merges(ByteLevelBpeTokenizer tok) {
        try {
            Path file = Files.createTempFile(dir, "tok", ".json");
            tok.save(file);
            var root = (Map<String, Object>) Json.parse(Files.readAllBytes(file));
            return (List<String>) ((Map<String, Object>) root.get("model")).get("merges");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void randomUnicodeRoundTrips() {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(CORPUS, 400, Set.of("<|endoftext|>"));
        Random random = new Random(1234);
        int[][] ranges = {{0x00, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF}, {0x10000, 0x10FFFF},
            {' ', ' '}, {'\n', '\n'}, {'a', 'z'}, {0x3000, 0x3000}, {0x1F600, 0x1F64F}};
        for (int trial = 0; trial < 500; trial++) {
            StringBuilder sb = new StringBuilder();
            int n = random.nextInt(60);
            for (int i = 0; i < n; i++) {
                int[] r = ranges[random.nextInt(ranges.length)];
                sb.appendCodePoint(r[0] + random.nextInt(r[1] - r[0] + 1));
                if (random.nextInt(20) == 0) sb.append("<|endoftext|>");
            }
            String text = sb.toString();
            assertEquals(text, tok.decode(tok.encode(text)), () -> "text " + Json.write(text));
        }
    }

    @Test
    void specialTokensAreCutOutBeforeMerging() {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(CORPUS, 300, Set.of("<|endoftext|>"));
        int eos = tok.eosTokenId().orElseThrow();
        assertArrayEquals(new int[] {eos}, tok.encode("<|endoftext|>"));
        int[] ids = tok.encode("a<|endoftext|>b<|endoftext|><|endoftext|>");
        assertEquals(3, Arrays.stream(ids).filter(id -> id == eos).count());
        assertEquals("a<|endoftext|>b<|endoftext|><|endoftext|>", tok.decode(ids));
        // A text without specials never produces the special id.
        assertTrue(Arrays.stream(tok.encode("<|endoftext| <|end")).noneMatch(id -> id == eos));
        // Without specials, the text is just text.
        ByteLevelBpeTokenizer plain = ByteLevelBpeTokenizer.train(CORPUS, 300, Set.of());
        assertTrue(plain.eosTokenId().isEmpty());
        assertEquals("<|endoftext|>", plain.decode(plain.encode("<|endoftext|>")));
        assertTrue(plain.encode("<|endoftext|>").length > 1);
    }

    @Test
    void badInputIsNamed() {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(CORPUS, 280, Set.of());
        var surrogate = assertThrows(IllegalArgumentException.class, () -> tok.encode("ok so\uDC00 x"));
        assertTrue(surrogate.getMessage().contains("lone surrogate U+DC00 at index 5"), surrogate.getMessage());
        var id = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {1, 280}));
        assertTrue(id.getMessage().contains("id 280 at position 1"), id.getMessage());
        var small = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpeTokenizer.train(CORPUS, 256, Set.of("<|endoftext|>")));
        assertTrue(small.getMessage().contains("vocabSize 256 is below 256 bytes + 1 special tokens = 257"),
                small.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ByteLevelBpeTokenizer.train(CORPUS, 300, Set.of("")));
    }

    @Test
    void saveThenLoadGivesIdenticalEncodings() throws IOException {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(CORPUS, 350, Set.of("<|endoftext|>"));
        Path file = dir.resolve("tokenizer.json");
        tok.save(file);
        ByteLevelBpeTokenizer back = assertInstanceOf(ByteLevelBpeTokenizer.class, Tokenizer.load(file));
        assertEquals(tok.vocabSize(), back.vocabSize());
        assertEquals(tok.mergeCount(), back.mergeCount());
        assertEquals(tok.eosTokenId(), back.eosTokenId());
        Random random = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            // Cut at code point boundaries: a cut inside a surrogate pair is not text.
            int[] cps = CORPUS.codePoints().toArray();
            int from = random.nextInt(cps.length);
            String text = new String(cps, from, Math.min(cps.length - from, random.nextInt(200)));
            assertArrayEquals(tok.encode(text), back.encode(text));
        }
        Path again = dir.resolve("again.json");
        back.save(again);
        assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again));
    }

    /** Training on tiny Shakespeare, as the GPT recipe does; kept to a slice and a small vocabulary for speed. */
    @Test
    void tinyShakespeareSlice() throws IOException {
        String text = Files.readString(TestData.tinyShakespeare(), StandardCharsets.UTF_8).substring(0, 200_000);
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.train(text, 512, Set.of("<|endoftext|>"));
        assertEquals(512, tok.vocabSize());
        int[] ids = tok.encode(text);
        assertEquals(text, tok.decode(ids));
        assertTrue(ids.length < text.length() * 0.6, "ids " + ids.length + " for " + text.length() + " characters");
    }
}
