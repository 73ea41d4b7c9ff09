package dev.kindling.tokenizers;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Learns byte-level BPE merges from a corpus.
 *
 * <p>The corpus is pre-tokenized once into distinct words with their counts; pair counts are kept for the whole
 * corpus and updated incrementally — a merge only revisits the words that contain its pair (found through a
 * pair → words index), so each step costs in proportion to what it changes, not to the corpus. The most frequent
 * pair comes from a max-heap whose entries may be stale: a popped entry whose count no longer matches is pushed
 * back with the current count, and pairs whose count grows (those with the new token) are pushed afresh.
 */
final class BpeTrainer {
    private final int[][] words; // distinct word -> its current symbols (token ids); only [0, lengths[w]) is live
    private final int[] lengths;
    private final int[] freqs; // distinct word -> occurrences in the corpus
    private final List<String> tokens = new ArrayList<>(); // id -> alphabet text
    private final Map<String, Integer> ids = new HashMap<>();
    private final List<Long> mergePairs = new ArrayList<>();
    private final List<Integer> mergeResults = new ArrayList<>();

    private final LongIntMap pairCounts = new LongIntMap(1 << 12, 0);
    private final LongIntMap pairWordsIndex = new LongIntMap(1 << 12, -1); // pair -> index into pairWords
    private final List<int[]> pairWords = new ArrayList<>(); // growable lists of word indices, [0] holds the size
    private final PriorityQueue<Candidate> heap = new PriorityQueue<>();

    /** A pair and the count it had when queued; ties go to the smaller left id, then the smaller right id. */
    private record Candidate(int count, int left, int right) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            if (count != o.count) return Integer.compare(o.count, count);
            if (left != o.left) return Integer.compare(left, o.left);
            return Integer.compare(right, o.right);
        }
    }

    BpeTrainer(String corpus, Pattern specials) {
        // Ids 0-255: the bytes ordered by their alphabet character, which is GPT-2's order.
        char[] alphabet = ByteLevel.BYTE_TO_CHAR.clone();
        Arrays.sort(alphabet);
        int[] byteIds = new int[256];
        for (char c : alphabet) {
            byteIds[ByteLevel.CHAR_TO_BYTE[c]] = tokens.size();
            ids.put(String.valueOf(c), tokens.size());
            tokens.add(String.valueOf(c));
        }

        Map<String, int[]> counts = new HashMap<>();
        List<String> order = new ArrayList<>(); // first-seen order, so that word indices are deterministic
        int from = 0;
        Matcher sm = specials == null ? null : specials.matcher(corpus);
        while (from <= corpus.length()) {
            int to = corpus.length();
            int nextFrom = to + 1;
            if (sm != null && sm.find()) {
                to = sm.start();
                nextFrom = sm.end();
            }
            for (int start = from, end; start < to; start = end) {
                end = ByteLevel.wordEnd(corpus, start, to);
                String word = corpus.substring(start, end);
                int[] c = counts.get(word);
                if (c == null) {
                    counts.put(word, new int[] {1});
                    order.add(word);
                } else {
                    c[0]++;
                }
            }
            from = nextFrom;
        }

        words = new int[order.size()][];
        lengths = new int[order.size()];
        freqs = new int[order.size()];
        List<Long> distinctPairs = new ArrayList<>();
        for (int w = 0; w < order.size(); w++) {
            String word = order.get(w);
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) symbols[i] = byteIds[bytes[i] & 0xFF];
            words[w] = symbols;
            lengths[w] = symbols.length;
            freqs[w] = counts.get(word)[0];
            for (int i = 0; i + 1 < symbols.length; i++) {
                long pair = LongIntMap.pair(symbols[i], symbols[i + 1]);
                if (pairCounts.add(pair, freqs[w]) == freqs[w]) distinctPairs.add(pair); // first sighting
                addWord(pair, w);
            }
        }
        for (long pair : distinctPairs) {
            heap.add(new Candidate(pairCounts.get(pair), LongIntMap.left(pair), LongIntMap.right(pair)));
        }
    }

    /** Records that word {@code w} contains {@code pair} (a repeat of the last word added is skipped). */
    private void addWord(long pair, int w) {
        int index = pairWordsIndex.get(pair);
        if (index < 0) {
            index = pairWords.size();
            pairWords.add(new int[] {0, 0, 0, 0});
            pairWordsIndex.put(pair, index);
        }
        int[] list = pairWords.get(index);
        int size = list[0];
        if (size > 0 && list[size] == w) return;
        if (size + 1 == list.length) {
            list = Arrays.copyOf(list, list.length * 2);
            pairWords.set(index, list);
        }
        list[++size] = w;
        list[0] = size;
    }

    /** Merges until the vocabulary has {@code modelVocabSize} tokens or no pair is left. */
    void train(int modelVocabSize) {
        int[] seen = new int[words.length]; // seen[w] == step + 1: word w was already processed this step
        long[] grown = new long[16];
        LongIntMap grownSet = new LongIntMap(16, 0);
        int step = 0;
        while (tokens.size() < modelVocabSize && !heap.isEmpty()) {
            Candidate top = heap.poll();
            long pair = LongIntMap.pair(top.left, top.right);
            int count = pairCounts.get(pair);
            if (count != top.count) {
                if (count > 0) heap.add(new Candidate(count, top.left, top.right));
                continue;
            }
            step++;
            int left = top.left;
            int right = top.right;
            String text = tokens.get(left) + tokens.get(right);
            Integer existing = ids.get(text);
            int merged;
            if (existing != null) {
                merged = existing; // the same text reached by another split: one token, two merges
            } else {
                merged = tokens.size();
                tokens.add(text);
                ids.put(text, merged);
            }
            mergePairs.add(pair);
            mergeResults.add(merged);

            int grownCount = 0;
            grownSet = new LongIntMap(16, 0);
            int[] list = pairWords.get(pairWordsIndex.get(pair));
            int size = list[0];
            for (int k = 1; k <= size; k++) {
                int w = list[k];
                if (seen[w] == step) continue;
                seen[w] = step;
                int[] s = words[w];
                int n = lengths[w];
                boolean found = false;
                for (int i = 0; i + 1 < n; i++) {
                    if (s[i] == left && s[i + 1] == right) {
                        found = true;
                        break;
                    }
                }
                if (!found) continue; // the index is lazy: an earlier merge took this occurrence
                int f = freqs[w];
                for (int i = 0; i + 1 < n; i++) pairCounts.add(LongIntMap.pair(s[i], s[i + 1]), -f);
                int out = 0;
                for (int i = 0; i < n; ) {
                    if (i + 1 < n && s[i] == left && s[i + 1] == right) {
                        s[out++] = merged;
                        i += 2;
                    } else {
                        s[out++] = s[i++];
                    }
                }
                lengths[w] = out;
                for (int i = 0; i + 1 < out; i++) {
                    long p = LongIntMap.pair(s[i], s[i + 1]);
                    pairCounts.add(p, f);
                    if (s[i] == merged || s[i + 1] == merged) {
                        addWord(p, w);
                        if (grownSet.get(p) == 0) {
                            grownSet.put(p, 1);
                            if (grownCount == grown.length) grown = Arrays.copyOf(grown, grownCount * 2);
                            grown[grownCount++] = p;
                        }
                    }
                }
            }
            // Only pairs with the new token can have grown; stale (too high) entries of the others fix themselves.
            for (int g = 0; g < grownCount; g++) {
                long p = grown[g];
                int c = pairCounts.get(p);
                if (c > 0) heap.add(new Candidate(c, LongIntMap.left(p), LongIntMap.right(p)));
            }
        }
    }

    List<String> tokens() {
        return tokens;
    }

    long[] mergePairs() {
        return mergePairs.stream().mapToLong(Long::longValue).toArray();
    }

    int[] mergeResults() {
        return mergeResults.stream().mapToInt(Integer::intValue).toArray();
    }
}
