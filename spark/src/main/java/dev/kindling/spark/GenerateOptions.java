package dev.kindling.spark;

import java.io.Serializable;

/**
 * Settings of {@link KindlingSpark#generate}; the sampling settings are those of {@code kindling generate}.
 *
 * @param maxNewTokens tokens generated per prompt (fewer when the model emits its end-of-text token)
 * @param temperature 0 for greedy decoding
 * @param topK keep the k most likely tokens (0 = off)
 * @param topP nucleus sampling mass (1 = off)
 * @param seed sampling seed; partition p samples with seed + p, so a re-run gives the same texts
 * @param truncateLeft a prompt longer than the model's context keeps its last tokens when true; when false
 *     its output is null
 */
public record GenerateOptions(int maxNewTokens, double temperature, int topK, double topP, long seed, boolean truncateLeft)
        implements Serializable {
    public GenerateOptions {
        if (maxNewTokens < 0) throw new IllegalArgumentException("GenerateOptions: max new tokens must be >= 0, got " + maxNewTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("GenerateOptions: temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("GenerateOptions: top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("GenerateOptions: top-p must be in (0, 1], got " + topP);
    }

    /** 50 new tokens, temperature 0.8, no top-k/top-p, seed 1337, over-long prompts truncated from the left. */
    public static GenerateOptions defaults() {
        return new GenerateOptions(50, 0.8, 0, 1.0, 1337, true);
    }

    public GenerateOptions withMaxNewTokens(int n) {
        return new GenerateOptions(n, temperature, topK, topP, seed, truncateLeft);
    }

    public GenerateOptions withTemperature(double t) {
        return new GenerateOptions(maxNewTokens, t, topK, topP, seed, truncateLeft);
    }

    public GenerateOptions withTopK(int k) {
        return new GenerateOptions(maxNewTokens, temperature, k, topP, seed, truncateLeft);
    }

    public GenerateOptions withTopP(double p) {
        return new GenerateOptions(maxNewTokens, temperature, topK, p, seed, truncateLeft);
    }

    public GenerateOptions withSeed(long s) {
        return new GenerateOptions(maxNewTokens, temperature, topK, topP, s, truncateLeft);
    }

    public GenerateOptions withTruncateLeft(boolean on) {
        return new GenerateOptions(maxNewTokens, temperature, topK, topP, seed, on);
    }
}
