package dev.kindling.tokenizers;

/**
 * How {@link HuggingFaceTokenizer#encode(String, EncodeOptions)} and {@code encodeBatch} shape their output.
 *
 * <pre>{@code
 * EncodeOptions o = EncodeOptions.DEFAULT.withMaxLength(128).withPadding(EncodeOptions.Padding.LONGEST);
 * }</pre>
 *
 * @param addSpecialTokens apply the post-processor ([CLS] ... [SEP] for BERT)
 * @param padding none, to the longest in the batch, or to {@code maxLength}
 * @param maxLength the length to truncate to (and pad to for {@link Padding#MAX_LENGTH}); 0 means no limit
 * @param truncate cut encodings longer than {@code maxLength}, keeping the special tokens
 * @param padLeft put padding before the tokens instead of after them
 * @param padToMultipleOf round the padded length up to a multiple of this (0 or 1: no rounding)
 * @param padToken the padding token, or null for the file's "padding" block, else "[PAD]" or "<pad>" when in the
 *     vocabulary, else id 0 (the Rust library's default)
 */
public record EncodeOptions(boolean addSpecialTokens, Padding padding, int maxLength, boolean truncate,
                            boolean padLeft, int padToMultipleOf, String padToken) {
    /** Where padding goes up to. */
    public enum Padding { NONE, LONGEST, MAX_LENGTH }

    /** Special tokens, no padding, no truncation. */
    public static final EncodeOptions DEFAULT = new EncodeOptions(true, Padding.NONE, 0, false, false, 0, null);

    public EncodeOptions {
        if (padding == null) throw new IllegalArgumentException("EncodeOptions: padding is null");
        if (maxLength < 0) throw new IllegalArgumentException("EncodeOptions: maxLength " + maxLength + " < 0");
        if (padToMultipleOf < 0) {
            throw new IllegalArgumentException("EncodeOptions: padToMultipleOf " + padToMultipleOf + " < 0");
        }
        if (padding == Padding.MAX_LENGTH && maxLength == 0) {
            throw new IllegalArgumentException("EncodeOptions: padding MAX_LENGTH needs a maxLength above 0");
        }
        if (truncate && maxLength == 0) {
            throw new IllegalArgumentException("EncodeOptions: truncation needs a maxLength above 0");
        }
    }

    public EncodeOptions withSpecialTokens(boolean add) {
        return new EncodeOptions(add, padding, maxLength, truncate, padLeft, padToMultipleOf, padToken);
    }

    public EncodeOptions withPadding(Padding p) {
        return new EncodeOptions(addSpecialTokens, p, maxLength, truncate, padLeft, padToMultipleOf, padToken);
    }

    /** Sets maxLength and turns truncation on. */
    public EncodeOptions withMaxLength(int max) {
        return new EncodeOptions(addSpecialTokens, padding, max, max > 0, padLeft, padToMultipleOf, padToken);
    }

    public EncodeOptions withTruncation(boolean t) {
        return new EncodeOptions(addSpecialTokens, padding, maxLength, t, padLeft, padToMultipleOf, padToken);
    }

    public EncodeOptions withPadLeft(boolean left) {
        return new EncodeOptions(addSpecialTokens, padding, maxLength, truncate, left, padToMultipleOf, padToken);
    }

    public EncodeOptions withPadToMultipleOf(int m) {
        return new EncodeOptions(addSpecialTokens, padding, maxLength, truncate, padLeft, m, padToken);
    }

    public EncodeOptions withPadToken(String token) {
        return new EncodeOptions(addSpecialTokens, padding, maxLength, truncate, padLeft, padToMultipleOf, token);
    }
}
