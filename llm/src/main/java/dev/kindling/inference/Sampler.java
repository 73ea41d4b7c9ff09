package dev.kindling.inference;

import dev.kindling.tensor.Generator;

/**
 * Picks the next token from logits: greedy (temperature 0), or sampling with temperature, top-k and top-p
 * (nucleus) filtering, drawing from a seeded Generator.
 */
public final class Sampler {
    private final double temperature, topP;
    private final int topK;
    private final Generator generator;

    public Sampler(double temperature, int topK, double topP, Generator generator) {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.generator = generator;
    }

    public static Sampler greedy() {
        return new Sampler(0, 0, 1, new Generator(0));
    }

    /** The next token for one row of logits [vocab] starting at {@code off}. */
    public int sample(float[] logits, int off, int vocab) {
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) if (logits[off + i] > logits[off + best]) best = i;
            return best;
        }
        Integer[] order = null;
        double[] p = new double[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[off + i] / temperature);
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp(logits[off + i] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < vocab; i++) p[i] /= sum;
        if (topK > 0 && topK < vocab || topP < 1) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) order[i] = i;
            double[] pp = p;
            java.util.Arrays.sort(order, (a, b) -> Double.compare(pp[b], pp[a]));
            int keep = topK > 0 ? Math.min(topK, vocab) : vocab;
            if (topP < 1) {
                double cum = 0;
                for (int r = 0; r < keep; r++) {
                    cum += p[order[r]];
                    if (cum >= topP) {
                        keep = r + 1;
                        break;
                    }
                }
            }
            double kept = 0;
            for (int r = 0; r < keep; r++) kept += p[order[r]];
            double u = generator.nextDouble() * kept;
            for (int r = 0; r < keep; r++) {
                u -= p[order[r]];
                if (u <= 0) return order[r];
            }
            return order[keep - 1];
        }
        double u = generator.nextDouble();
        for (int i = 0; i < vocab; i++) {
            u -= p[i];
            if (u <= 0) return i;
        }
        return vocab - 1;
    }
}
