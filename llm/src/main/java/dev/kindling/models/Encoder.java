package dev.kindling.models;

import dev.kindling.tensor.Tensor;

/**
 * A text encoder: token ids to one hidden vector per token, as BERT-family models compute them. Implemented by
 * {@link BertModel} (Hugging Face folders) and {@code dev.kindling.onnx.OnnxEncoder} (ONNX exports), so that
 * {@code Embedder} runs either.
 */
public interface Encoder {
    /**
     * The last hidden state [B, T, hidden].
     *
     * @param ids token ids [B, T] (INT64)
     * @param attentionMask [B, T], non-zero for tokens and 0 for padding; null means no padding
     * @param tokenTypeIds [B, T] segment ids; null means all 0
     */
    Tensor encode(Tensor ids, Tensor attentionMask, Tensor tokenTypeIds);

    /** The longest sequence the model accepts (max_position_embeddings), or Integer.MAX_VALUE if it has no limit. */
    int maxPositions();
}
