package dev.kindling.tasks;

import dev.kindling.data.Batch;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * The built-in default task: multi-digit addition from generated examples. An example reads
 * {@code "07+45=052"}: both operands zero-padded to {@code digits}, the sum to {@code digits + 1}, over the
 * 12-character vocabulary "+0123456789=". The pairs are split once, by seed, into 90% for training and 10%
 * held out; the model is scored by exact match of greedy answers on the held-out pairs. The loss is taken
 * only on the answer positions (targets elsewhere are {@link #IGNORE}).
 */
public final class AdditionTask {
    // sorted by code point, so that CharTokenizer.fromText(VOCABULARY) gives the same ids
    public static final String VOCABULARY = "+0123456789=";
    public static final int IGNORE = -100;

    private final int digits;
    private final int[] trainPairs, testPairs;

    public AdditionTask(int digits, long seed) {
        if (digits < 1 || digits > 4) throw new IllegalArgumentException("addition: digits must be 1-4, got " + digits);
        this.digits = digits;
        int max = (int) Math.pow(10, digits);
        int total = max * max;
        int[] all = new int[total];
        for (int i = 0; i < total; i++) all[i] = i;
        new Generator(seed ^ 0xADD).shuffle(all);
        int test = Math.max(1, total / 10);
        testPairs = java.util.Arrays.copyOfRange(all, 0, test);
        trainPairs = java.util.Arrays.copyOfRange(all, test, total);
    }

    public int digits() {
        return digits;
    }

    /** Characters before the answer: "ab+cd=". */
    public int promptLength() {
        return 2 * digits + 2;
    }

    public int answerLength() {
        return digits + 1;
    }

    /** Tokens of a whole example; the model's block size must be at least this minus one. */
    public int sequenceLength() {
        return promptLength() + answerLength();
    }

    public int[] testPairs() {
        return testPairs.clone();
    }

    private int operandA(int pair) {
        return pair / (int) Math.pow(10, digits);
    }

    private int operandB(int pair) {
        return pair % (int) Math.pow(10, digits);
    }

    /** The text of a pair's prompt, e.g. "07+45=". */
    public String prompt(int pair) {
        return pad(operandA(pair), digits) + "+" + pad(operandB(pair), digits) + "=";
    }

    /** The expected answer text, e.g. "052". */
    public String answer(int pair) {
        return pad(operandA(pair) + operandB(pair), digits + 1);
    }

    private static String pad(int v, int width) {
        String s = Integer.toString(v);
        return "0".repeat(Math.max(0, width - s.length())) + s;
    }

    /** Token ids of a text over {@link #VOCABULARY}. */
    public static long[] ids(String text) {
        long[] out = new long[text.length()];
        for (int i = 0; i < out.length; i++) {
            int id = VOCABULARY.indexOf(text.charAt(i));
            if (id < 0) throw new IllegalArgumentException("addition: character '" + text.charAt(i) + "' is not in the vocabulary");
            out[i] = id;
        }
        return out;
    }

    /** A batch of random training (or held-out) examples: x [B, L-1], y [B, L-1] with only the answer targeted. */
    public Batch batch(Generator g, int batchSize, boolean train) {
        int[] pairs = train ? trainPairs : testPairs;
        int len = sequenceLength() - 1;
        long[] x = new long[batchSize * len], y = new long[batchSize * len];
        for (int b = 0; b < batchSize; b++) {
            int pair = pairs[g.nextInt(pairs.length)];
            long[] seq = ids(prompt(pair) + answer(pair));
            for (int t = 0; t < len; t++) {
                x[b * len + t] = seq[t];
                y[b * len + t] = t + 1 >= promptLength() ? seq[t + 1] : IGNORE;
            }
        }
        return new Batch(Tensor.wrapLongs(x, batchSize, len), Tensor.wrapLongs(y, batchSize, len));
    }
}
