package dev.kindling.inference;

import dev.kindling.tokenizers.EncodeOptions;
import dev.kindling.tokenizers.HuggingFaceTokenizer;
import dev.kindling.tokenizers.Tokenizer;
import java.util.Arrays;
import java.util.function.Function;

/**
 * What the {@link Embedder} needs from a tokenizer: the ids of one text (special tokens included, e.g. [CLS] ... [SEP])
 * and which of them count as tokens. Any tokenizer plugs in: {@code TextTokenizer.ofIds(tokenizer::encode)}.
 */
@FunctionalInterface
public interface TextTokenizer {
    /** The encoding of {@code text}. */
    Encoding encode(String text);

    /**
     * Ids of one text and its attention mask (1 = token, 0 = ignore), of equal length.
     */
    record Encoding(int[] ids, int[] attentionMask) {
        public Encoding {
            if (ids.length != attentionMask.length)
                throw new IllegalArgumentException("Encoding: " + ids.length + " ids but " + attentionMask.length + " mask values");
        }

        /** An encoding in which every id is a token. */
        public static Encoding of(int... ids) {
            int[] mask = new int[ids.length];
            Arrays.fill(mask, 1);
            return new Encoding(ids, mask);
        }
    }

    /** A tokenizer from a text → ids function; every id is a token. */
    static TextTokenizer ofIds(Function<String, int[]> ids) {
        return text -> Encoding.of(ids.apply(text));
    }

    /**
     * {@code tokenizer} as an encoder's tokenizer: a Hugging Face pipeline adds its special tokens ([CLS] ... [SEP])
     * and truncates to {@code maxLength}; any other tokenizer gives its plain ids.
     */
    static TextTokenizer of(Tokenizer tokenizer, int maxLength) {
        if (maxLength < 1) throw new IllegalArgumentException("TextTokenizer: max length must be at least 1, got " + maxLength);
        if (tokenizer instanceof HuggingFaceTokenizer hf) {
            EncodeOptions opts = EncodeOptions.DEFAULT.withMaxLength(maxLength).withTruncation(true);
            return text -> {
                var e = hf.encode(text, opts);
                return new Encoding(e.ids(), e.attentionMask());
            };
        }
        return ofIds(tokenizer::encode);
    }
}
