package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Turns text into token ids and back, and stores itself as a Hugging Face {@code tokenizer.json}.
 *
 * <p>Three kinds exist: {@link CharTokenizer} (one id per character, as in nanoGPT's shakespeare_char),
 * {@link ByteLevelBpeTokenizer} (GPT-2's byte-level BPE, trainable) and {@link HuggingFaceTokenizer} (any
 * Hugging Face {@code tokenizer.json} pipeline: BERT's WordPiece, SentencePiece's Unigram, BPE).
 * {@link #load(Path)} reads each from its file.
 * Implementations are immutable and safe to share between threads.
 *
 * <pre>{@code
 * Tokenizer tok = ByteLevelBpeTokenizer.train(corpus, 1024, Set.of("<|endoftext|>"));
 * int[] ids = tok.encode("To be, or not to be");
 * tok.decode(ids);                       // "To be, or not to be"
 * tok.save(dir.resolve("tokenizer.json"));
 * Tokenizer same = Tokenizer.load(dir.resolve("tokenizer.json"));
 * }</pre>
 */
public interface Tokenizer {
    /**
     * The token ids of {@code text}, without any BOS/EOS added.
     *
     * @throws IllegalArgumentException if the text holds something the vocabulary cannot express (the message
     *     names it and its position)
     */
    int[] encode(String text);

    /**
     * The text of {@code ids}. For byte-level BPE, a cut in the middle of a multi-byte character decodes to
     * U+FFFD, as Hugging Face does.
     *
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())} (the message names it and its
     *     position)
     */
    String decode(int[] ids);

    /** The number of ids: every id is in {@code [0, vocabSize())}. */
    int vocabSize();

    /** The id of the end-of-text token ({@code <|endoftext|>}) when the vocabulary has one. */
    OptionalInt eosTokenId();

    /** Writes this tokenizer as a Hugging Face {@code tokenizer.json}, atomically (never a torn file). */
    void save(Path tokenizerJson) throws IOException;

    /**
     * Reads a {@code tokenizer.json} written by {@link #save} or by Hugging Face: a GPT-2 style byte-level "BPE"
     * (ByteLevel pre-tokenizer, no normalizer or post-processor) gives a {@link ByteLevelBpeTokenizer}; model
     * "WordLevel" over single characters, or the merge-less "BPE" over single characters without pre-tokenizer that
     * earlier Kindling runs wrote, gives a {@link CharTokenizer}; everything else (WordPiece, Unigram, BPE with
     * other parts) gives a {@link HuggingFaceTokenizer} running the file's whole pipeline.
     *
     * @throws FileFormatException if the file is not valid JSON or describes something else; the message names
     *     the file and what is wrong
     */
    static Tokenizer load(Path tokenizerJson) throws IOException {
        Map<String, Object> root = TokenizerJson.read(tokenizerJson);
        TokenizerJson.Reader r = new TokenizerJson.Reader(tokenizerJson);
        Map<String, Object> model = r.object(root, "model", null);
        String type = r.string(model, "type", "model");
        return switch (type) {
            case "BPE" -> CharTokenizer.isMergelessCharacterBpe(root) ? CharTokenizer.fromHuggingFace(root, r)
                    : isPlainByteLevel(root) ? ByteLevelBpeTokenizer.fromHuggingFace(root, r)
                    : HuggingFaceTokenizer.fromJson(root, r);
            case "WordLevel" -> CharTokenizer.fromHuggingFace(root, r);
            default -> HuggingFaceTokenizer.fromJson(root, r);
        };
    }

    /** Whether the file is GPT-2's byte-level BPE with nothing around it, what {@link ByteLevelBpeTokenizer} is. */
    private static boolean isPlainByteLevel(Map<String, Object> root) {
        return root.get("normalizer") == null && root.get("post_processor") == null
                && root.get("pre_tokenizer") instanceof Map<?, ?> pre && "ByteLevel".equals(pre.get("type"))
                && !Boolean.FALSE.equals(pre.get("use_regex"))
                && (root.get("decoder") == null
                    || root.get("decoder") instanceof Map<?, ?> d && "ByteLevel".equals(d.get("type")))
                && root.get("model") instanceof Map<?, ?> m && m.get("continuing_subword_prefix") == null
                && m.get("end_of_word_suffix") == null && !Boolean.TRUE.equals(m.get("byte_fallback"))
                && !Boolean.TRUE.equals(m.get("ignore_merges")) && m.get("unk_token") == null;
    }
}
