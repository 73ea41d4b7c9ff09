package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Turns text into token ids and back, and stores itself as a Hugging Face {@code tokenizer.json}.
 *
 * <p>Two kinds exist: {@link CharTokenizer} (one id per character, as in nanoGPT's shakespeare_char) and
 * {@link ByteLevelBpeTokenizer} (GPT-2's byte-level BPE). {@link #load(Path)} reads either from its file.
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
     * Reads a {@code tokenizer.json} written by {@link #save} or by Hugging Face: model "BPE" with a ByteLevel
     * pre-tokenizer gives a {@link ByteLevelBpeTokenizer}; model "WordLevel" over single characters, or the
     * merge-less "BPE" over single characters without pre-tokenizer that earlier Kindling runs wrote, gives a
     * {@link CharTokenizer}.
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
            case "BPE" -> CharTokenizer.isMergelessCharacterBpe(root)
                    ? CharTokenizer.fromHuggingFace(root, r) : ByteLevelBpeTokenizer.fromHuggingFace(root, r);
            case "WordLevel" -> CharTokenizer.fromHuggingFace(root, r);
            default -> throw r.error("model type '" + type + "' is not supported (only BPE and WordLevel are)");
        };
    }
}
