package dev.kindling.spark;

import java.io.Serializable;

/**
 * What one optimizer step of a {@link SparkTrainer} run measured.
 *
 * @param step the step, from 0
 * @param loss the loss averaged over all ranks (their shares of the global batch are equal, so this is the
 *     global batch's mean loss)
 * @param examplesPerSecond per rank: examples of its share divided by the step's wall time on that rank
 * @param tokensPerSecond per rank: input elements per second (tokens for a language model's id windows)
 */
public record StepMetrics(int step, double loss, double[] examplesPerSecond, double[] tokensPerSecond) implements Serializable {
    /** Tokens per second summed over the ranks. */
    public double totalTokensPerSecond() {
        double s = 0;
        for (double v : tokensPerSecond) s += v;
        return s;
    }
}
