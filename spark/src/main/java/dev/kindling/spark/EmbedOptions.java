package dev.kindling.spark;

import dev.kindling.inference.Embedder;
import dev.kindling.tensor.DType;
import java.io.Serializable;
import java.util.Objects;

/**
 * Settings of {@link KindlingSpark#embed}.
 *
 * @param batchSize texts per forward pass
 * @param maxLength longest token sequence per text; longer texts keep their first {@code maxLength} tokens
 *     (capped by the model's max_position_embeddings)
 * @param pooling how token vectors become one vector
 * @param normalize whether vectors are scaled to unit length
 * @param dtype FLOAT32, BF16 or F16 weights
 */
public record EmbedOptions(int batchSize, int maxLength, Embedder.Pooling pooling, boolean normalize, DType dtype) implements Serializable {
    public EmbedOptions {
        if (batchSize < 1) throw new IllegalArgumentException("EmbedOptions: batch size must be at least 1, got " + batchSize);
        if (maxLength < 1) throw new IllegalArgumentException("EmbedOptions: max length must be at least 1, got " + maxLength);
        Objects.requireNonNull(pooling, "pooling");
        if (dtype != DType.FLOAT32 && dtype != DType.BF16 && dtype != DType.F16)
            throw new IllegalArgumentException("EmbedOptions: dtype must be FLOAT32, BF16 or F16, got " + dtype);
    }

    /** Batch size 32, max length 512, mean pooling, unit-length vectors, FLOAT32 weights. */
    public static EmbedOptions defaults() {
        return new EmbedOptions(32, 512, Embedder.Pooling.MEAN, true, DType.FLOAT32);
    }

    public EmbedOptions withBatchSize(int n) {
        return new EmbedOptions(n, maxLength, pooling, normalize, dtype);
    }

    public EmbedOptions withMaxLength(int n) {
        return new EmbedOptions(batchSize, n, pooling, normalize, dtype);
    }

    public EmbedOptions withPooling(Embedder.Pooling p) {
        return new EmbedOptions(batchSize, maxLength, p, normalize, dtype);
    }

    public EmbedOptions withNormalize(boolean on) {
        return new EmbedOptions(batchSize, maxLength, pooling, on, dtype);
    }

    public EmbedOptions withDtype(DType d) {
        return new EmbedOptions(batchSize, maxLength, pooling, normalize, d);
    }
}
