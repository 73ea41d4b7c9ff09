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

    private static final int SPACE = 0, LETTER = 1, NUMBER = 2, OTHER = 3;
    private static final byte[] ASCII_CLASS = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII_CLASS[c] = (byte) classify(c);
    }

    private static int classify(int cp) {
        if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000) {
            return SPACE; // Unicode's White_Space property, what \s means under UNICODE_CHARACTER_CLASS
        }
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            default -> OTHER;
        };
    }

    private static int classOf(int cp) {
        return cp < 128 ? ASCII_CLASS[cp] : classify(cp);
    }

    /**
     * Where the pre-tokenized word that starts at {@code i} ends, {@code text[i, end)} being the text: the match of
     * {@link #GPT2_PATTERN} at {@code i}, computed by hand because the regex engine is the encoder's bottleneck
     * (about 10 MB/s). Tests check the two against each other on random text.
     */
    static int wordEnd(String text, int i, int end) {
        int start = i;
        int c = text.codePointAt(i);
        if (c == '\'' && i + 1 < end) { // 's|'t|'re|'ve|'m|'ll|'d
            char d = text.charAt(i + 1);
            if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
            if (i + 2 < end) {
                char e = text.charAt(i + 2);
                if ((d == 'r' || d == 'v') && e == 'e' || d == 'l' && e == 'l') return i + 3;
            }
        }
        int cls = classOf(c);
        if (c == ' ' && i + 1 < end) { // ' ?' before a run of letters, numbers or other symbols
            int next = text.codePointAt(i + 1);
            int nextClass = classOf(next);
            if (nextClass != SPACE) {
                i++;
                c = next;
                cls = nextClass;
            }
        }
        if (cls != SPACE) { // \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
            i += Character.charCount(c);
            while (i < end) {
                int d = text.codePointAt(i);
                if (classOf(d) != cls) break;
                i += Character.charCount(d);
            }
            return i;
        }
        int last = i; // start of the run's last whitespace character
        while (i < end) {
            int d = text.codePointAt(i);
            if (classOf(d) != SPACE) break;
            last = i;
            i += Character.charCount(d);
        }
        if (i == end) return i; // \s+(?!\S) at the end of the text
        return last > start ? last : i; // \s+(?!\S) leaves the last space to the next word; else \s+
    }

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
