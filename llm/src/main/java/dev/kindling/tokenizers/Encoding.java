package dev.kindling.tokenizers;

/**
 * One encoded text (or text pair), as a model takes it: token ids, token type ids (segment 0 or 1), the attention
 * mask (1 for tokens, 0 for padding), whether each position is a special token, and the token texts. All arrays
 * have the same length. The arrays are the caller's to keep; nothing else holds them.
 *
 * @param ids token ids
 * @param typeIds segment ids: 0 for the first text and its specials, 1 for the second of a BERT pair
 * @param attentionMask 1 for a real token, 0 for padding
 * @param specialTokensMask 1 for a token the post-processor or padding added ([CLS], [SEP], [PAD]), else 0
 * @param tokens the token texts (as in the vocabulary: "##ing", "Ġworld")
 */
public record Encoding(int[] ids, int[] typeIds, int[] attentionMask, int[] specialTokensMask, String[] tokens) {
    /** The number of positions. */
    public int length() {
        return ids.length;
    }
}
