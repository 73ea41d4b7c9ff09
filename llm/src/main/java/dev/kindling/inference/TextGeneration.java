package dev.kindling.inference;

import dev.kindling.autograd.Grad;
import dev.kindling.models.Gpt;
import dev.kindling.models.KVCache;
import dev.kindling.tensor.Tensor;

/**
 * Incremental decoding with a KV cache: the prompts are run once (prefill), then one token per step for
 * every sequence of the batch. Prompts in one batch must have the same length.
 */
public final class TextGeneration {
    private TextGeneration() {}

    /** What to do with a prompt longer than the model's context. */
    public enum Overflow { ERROR, TRUNCATE_LEFT }

    /** Receives each new token of sequence {@code row}. */
    @FunctionalInterface
    public interface TokenListener {
        void token(int row, int id);
    }

    /**
     * Generates up to {@code maxNewTokens} for each prompt row; a row stops at {@code eos} (if >= 0). Returns
     * the new tokens per row (without the prompt).
     */
    public static int[][] generate(Gpt model, int[][] prompts, int maxNewTokens, Sampler sampler, int eos, Overflow overflow,
                                   TokenListener listener) {
        int batch = prompts.length;
        if (batch == 0) return new int[0][];
        int len = prompts[0].length;
        for (int[] p : prompts)
            if (p.length != len) throw new IllegalArgumentException("generate: prompts in one batch need the same length, got " + len + " and " + p.length);
        if (len == 0) throw new IllegalArgumentException("generate: empty prompt");
        int context = model.config.blockSize();
        if (maxNewTokens < 0) throw new IllegalArgumentException("generate: max new tokens must be >= 0, got " + maxNewTokens);
        int keep = Math.min(len, context);
        if (len > context && overflow == Overflow.ERROR)
            throw new IllegalArgumentException("generate: the prompt has " + len + " tokens but the model's context is " + context
                    + " (truncate from the left to keep the last " + context + ")");
        // Positions are bounded by the context: with a long generation the window slides and the cache restarts.
        int[][] out = new int[batch][maxNewTokens];
        int[] produced = new int[batch];
        boolean[] done = new boolean[batch];
        int[][] window = new int[batch][];
        for (int b = 0; b < batch; b++) window[b] = java.util.Arrays.copyOfRange(prompts[b], len - keep, len);
        model.eval();
        try (var noGrad = Grad.disabled()) {
            KVCache cache = new KVCache(model.config, batch, context);
            Tensor input = ids(window, 0, window[0].length);
            int vocab = model.config.vocabSize();
            for (int step = 0; step < maxNewTokens; step++) {
                float[] l = model.nextTokenLogits(input, cache).toFloatArray();     // (B, V)
                long[] next = new long[batch];
                boolean all = true;
                for (int b = 0; b < batch; b++) {
                    if (done[b]) continue;
                    int id = sampler.sample(l, b * vocab, vocab);
                    next[b] = id;
                    out[b][produced[b]++] = id;
                    if (listener != null) listener.token(b, id);
                    if (id == eos) done[b] = true;
                    all &= done[b];
                }
                if (all || step == maxNewTokens - 1) break;
                for (int b = 0; b < batch; b++) window[b] = tail(append(window[b], (int) next[b]), context);
                if (cache.length() + 1 > context) {
                    // the context is full: slide it, keeping the last half, and rebuild the cache from that
                    cache.reset();
                    int keepN = Math.max(1, context / 2);
                    for (int b = 0; b < batch; b++) window[b] = tail(window[b], keepN);
                    input = ids(window, 0, window[0].length);
                } else {
                    input = Tensor.wrapLongs(next, batch, 1);
                }
            }
        }
        int[][] result = new int[batch][];
        for (int b = 0; b < batch; b++) result[b] = java.util.Arrays.copyOf(out[b], produced[b]);
        return result;
    }

    private static int[] append(int[] a, int v) {
        int[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }

    private static int[] tail(int[] a, int n) {
        return a.length <= n ? a : java.util.Arrays.copyOfRange(a, a.length - n, a.length);
    }

    private static Tensor ids(int[][] rows, int from, int to) {
        int b = rows.length, t = to - from;
        long[] v = new long[b * t];
        for (int i = 0; i < b; i++) for (int j = 0; j < t; j++) v[i * t + j] = rows[i][from + j];
        return Tensor.wrapLongs(v, b, t);
    }

}
