package dev.kindling.tokenizers;

import java.util.regex.Pattern;

/**
 * GPT-2's byte-level alphabet and pre-tokenization, shared by encoding, training and the file formats.
 *
 * <p>Byte-level BPE works on UTF-8 bytes, but its vocabulary files store tokens as text. GPT-2's
 * {@code bytes_to_unicode} maps every byte to a printable character: the 188 bytes that are already printable
 * (33–126, 161–172, 174–255) map to themselves, the other 68 (controls, space, 127–160, 173) to U+0100 upwards in
 * byte order — so the space 0x20 becomes 'Ġ' (U+0120) and the newline 0x0A becomes 'Ċ' (U+010A).
 */
final class ByteLevel {
    private ByteLevel() {}

    /** BYTE_TO_CHAR[b] is the character that stands for byte b in vocabulary files. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** CHAR_TO_BYTE[c] is the byte for alphabet character c, or -1; indexed up to the largest one (U+0143). */
    static final int[] CHAR_TO_BYTE;

    static {
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + next++);
        }
        CHAR_TO_BYTE = new int[256 + next];
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        for (int b = 0; b < 256; b++) CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
    }

    /**
     * GPT-2's pre-tokenization regex. Unicode classes on purpose: Java's default {@code \s} is ASCII only, while
     * GPT-2 (Python's regex module), Hugging Face tokenizers and tiktoken treat every Unicode White_Space character
     * (no-break space, ideographic space, ...) as whitespace.
     */
    static final Pattern GPT2_PATTERN = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** The byte-level text of {@code bytes}: one alphabet character per byte. */
    static String toAlphabet(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(chars);
    }

    /**
     * The bytes that alphabet text stands for. A character outside the alphabet (an added token in a vocabulary
     * file written by other tools, say) stands for its own UTF-8 bytes, as in Hugging Face's ByteLevel decoder.
     */
    static byte[] fromAlphabet(String text) {
        var out = new java.io.ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                int cp = text.codePointAt(i);
                byte[] own = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.write(own, 0, own.length);
                i += Character.charCount(cp) - 1;
            }
        }
        return out.toByteArray();
    }
}
