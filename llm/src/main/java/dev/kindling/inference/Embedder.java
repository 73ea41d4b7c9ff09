package dev.kindling.inference;

import dev.kindling.autograd.Grad;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.models.Encoder;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Sentence embeddings from an encoder: tokenizes the texts, sorts them by length so each batch pads little, runs
 * the batches without recording gradients, pools each text's last hidden state and returns the vectors in input
 * order.
 * <pre>{@code
 * var embedder = Embedder.builder(model, tokenizer).batchSize(16).maxLength(256)
 *                        .pooling(Embedder.Pooling.MEAN).normalize(true).build();
 * List<float[]> vectors = embedder.embed(texts);
 * }</pre>
 */
public final class Embedder {
    /** How a text's token vectors become one vector. Only tokens (attention mask 1) take part. */
    public enum Pooling {
        /** The mean of the token vectors (sentence-transformers' default). */
        MEAN,
        /** The first token's vector ([CLS]). */
        CLS,
        /** The element-wise maximum over the token vectors. */
        MAX
    }

    private final Encoder model;
    private final TextTokenizer tokenizer;
    private final int batchSize, maxLength;
    private final Pooling pooling;
    private final boolean normalize;

    private Embedder(Builder b) {
        model = b.model;
        tokenizer = b.tokenizer;
        batchSize = b.batchSize;
        maxLength = b.maxLength;
        pooling = b.pooling;
        normalize = b.normalize;
    }

    /** A builder with batch size 32, max length min(512, the model's max positions), MEAN pooling, no normalization. */
    public static Builder builder(Encoder model, TextTokenizer tokenizer) {
        return new Builder(Objects.requireNonNull(model, "model"), Objects.requireNonNull(tokenizer, "tokenizer"));
    }

    /** {@link #builder(Encoder, TextTokenizer)} for a BERT-family encoder loaded by {@link AutoModel}. */
    public static Builder builder(AutoModel model, TextTokenizer tokenizer) {
        return builder(model.as(BertModel.class), tokenizer);
    }

    /** Settings of an {@link Embedder}. */
    public static final class Builder {
        private final Encoder model;
        private final TextTokenizer tokenizer;
        private int batchSize = 32, maxLength;
        private Pooling pooling = Pooling.MEAN;
        private boolean normalize;

        private Builder(Encoder model, TextTokenizer tokenizer) {
            this.model = model;
            this.tokenizer = tokenizer;
            maxLength = Math.min(512, model.maxPositions());
        }

        /** Texts per forward pass (at least 1). */
        public Builder batchSize(int n) {
            if (n < 1) throw new IllegalArgumentException("Embedder: batch size must be at least 1, got " + n);
            batchSize = n;
            return this;
        }

        /** Longest token sequence per text; longer encodings keep their first {@code n} tokens. */
        public Builder maxLength(int n) {
            int limit = model.maxPositions();
            if (n < 1 || n > limit)
                throw new IllegalArgumentException("Embedder: max length " + n + " is outside [1, " + limit + "] (the model's max positions)");
            maxLength = n;
            return this;
        }

        public Builder pooling(Pooling p) {
            pooling = Objects.requireNonNull(p, "pooling");
            return this;
        }

        /** Whether vectors are scaled to unit L2 norm (for cosine similarity as a dot product). */
        public Builder normalize(boolean on) {
            normalize = on;
            return this;
        }

        public Embedder build() {
            return new Embedder(this);
        }
    }

    /**
     * One vector of size hidden_size per text, in the order of {@code texts}.
     *
     * @throws IllegalArgumentException naming the text's index if its encoding has no token
     */
    public List<float[]> embed(List<String> texts) {
        int n = texts.size();
        TextTokenizer.Encoding[] enc = new TextTokenizer.Encoding[n];
        for (int i = 0; i < n; i++) {
            TextTokenizer.Encoding e = tokenizer.encode(texts.get(i));
            if (e.ids().length > maxLength)
                e = new TextTokenizer.Encoding(Arrays.copyOf(e.ids(), maxLength), Arrays.copyOf(e.attentionMask(), maxLength));
            if (Arrays.stream(e.attentionMask()).noneMatch(m -> m != 0))
                throw new IllegalArgumentException("Embedder: text " + i + " has no token after tokenizing (" + e.ids().length + " ids)");
            enc[i] = e;
        }
        // longest first: each batch pads to its first member, and similar lengths share a batch
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> enc[i].ids().length).reversed());
        float[][] out = new float[n][];
        try (var g = Grad.disabled()) {
            for (int start = 0; start < n; start += batchSize) {
                int b = Math.min(batchSize, n - start);
                int t = enc[order[start]].ids().length;
                long[] ids = new long[b * t], mask = new long[b * t];
                for (int r = 0; r < b; r++) {
                    TextTokenizer.Encoding e = enc[order[start + r]];
                    for (int j = 0; j < e.ids().length; j++) {
                        ids[r * t + j] = e.ids()[j];
                        mask[r * t + j] = e.attentionMask()[j] != 0 ? 1 : 0;
                    }
                }
                Tensor hidden = model.encode(Tensor.wrapLongs(ids, b, t), Tensor.wrapLongs(mask, b, t), null);
                float[] h = hidden.contiguous().toFloatArray();                         // (b, t, H)
                for (int r = 0; r < b; r++) out[order[start + r]] = pool(h, mask, r, t, hidden.size(2));
            }
        }
        return List.of(out);
    }

    /** The pooled vector of row r of h [b, t, dim], over the positions where mask is 1. */
    private float[] pool(float[] h, long[] mask, int r, int t, int dim) {
        float[] v = new float[dim];
        int base = r * t * dim;
        switch (pooling) {
            case CLS -> System.arraycopy(h, base, v, 0, dim);
            case MEAN -> {
                double[] sum = new double[dim];
                int count = 0;
                for (int j = 0; j < t; j++) {
                    if (mask[r * t + j] == 0) continue;
                    count++;
                    for (int d = 0; d < dim; d++) sum[d] += h[base + j * dim + d];
                }
                for (int d = 0; d < dim; d++) v[d] = (float) (sum[d] / count);
            }
            case MAX -> {
                Arrays.fill(v, Float.NEGATIVE_INFINITY);
                for (int j = 0; j < t; j++) {
                    if (mask[r * t + j] == 0) continue;
                    for (int d = 0; d < dim; d++) v[d] = Math.max(v[d], h[base + j * dim + d]);
                }
            }
        }
        if (normalize) {
            double norm = 0;
            for (float x : v) norm += (double) x * x;
            // as torch.nn.functional.normalize: a zero vector stays zero
            float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int d = 0; d < dim; d++) v[d] *= scale;
        }
        return v;
    }
}
