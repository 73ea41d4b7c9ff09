package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * The "normalizer" part of a {@code tokenizer.json}: text → text, applied before pre-tokenization. Each is built
 * from its JSON object by {@link #of}; character classes follow the Rust library (Unicode White_Space, general
 * categories) rather than Java's narrower {@code Character.isWhitespace}.
 */
final class Normalizers {
    private Normalizers() {}

    /** The normalizer described by {@code json} at path {@code where}; null JSON means none (identity). */
    static UnaryOperator<String> of(Map<String, Object> json, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        if (json == null) return UnaryOperator.identity();
        String type = r.string(json, "type", where);
        return switch (type) {
            case "BertNormalizer" -> {
                boolean clean = r.flag(json, "clean_text", where, true);
                boolean chinese = r.flag(json, "handle_chinese_chars", where, true);
                boolean lower = r.flag(json, "lowercase", where, true);
                boolean strip = r.flag(json, "strip_accents", where, lower); // null follows lowercase, as in HF
                yield s -> {
                    if (clean) s = cleanText(s);
                    if (chinese) s = spaceChineseChars(s);
                    if (strip) s = stripAccents(s);
                    if (lower) s = lowercase(s);
                    return s;
                };
            }
            case "NFC" -> s -> java.text.Normalizer.normalize(s, Form.NFC);
            case "NFD" -> s -> java.text.Normalizer.normalize(s, Form.NFD);
            case "NFKC" -> s -> java.text.Normalizer.normalize(s, Form.NFKC);
            case "NFKD" -> s -> java.text.Normalizer.normalize(s, Form.NFKD);
            case "Lowercase" -> Normalizers::lowercase;
            case "StripAccents" -> Normalizers::removeCombiningMarks; // all marks, unlike BertNormalizer
            case "Strip" -> {
                boolean left = r.flag(json, "strip_left", where, true);
                boolean right = r.flag(json, "strip_right", where, true);
                yield s -> strip(s, left, right);
            }
            case "Prepend" -> {
                String prefix = r.string(json, "prepend", where);
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                Pattern p = PreTokenizers.pattern(r.object(json, "pattern", where), r, where + ".pattern");
                String content = r.string(json, "content", where);
                String literal = java.util.regex.Matcher.quoteReplacement(content);
                yield s -> p.matcher(s).replaceAll(literal);
            }
            case "Sequence" -> {
                List<?> parts = r.list(json, "normalizers", where);
                List<UnaryOperator<String>> ops = new ArrayList<>();
                for (int i = 0; i < parts.size(); i++) {
                    ops.add(of(TokenizerJson.asObject(parts.get(i), r, where + ".normalizers[" + i + "]"), r,
                            where + ".normalizers[" + i + "]"));
                }
                yield s -> {
                    for (UnaryOperator<String> op : ops) s = op.apply(s);
                    return s;
                };
            }
            default -> throw r.error(where + ": unknown normalizer type '" + type + "' (supported: BertNormalizer, "
                    + "NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, Sequence)");
        };
    }

    /** Unicode's White_Space property (Rust's {@code char::is_whitespace}), what HF means by whitespace. */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** HF's is_control: the "Other" categories (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return. */
    private static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') return false;
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                 Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    /** Drops NUL, U+FFFD and control characters; every whitespace character becomes a plain space. */
    static String cleanText(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            boolean drop = c == 0 || c == 0xFFFD || isControl(c);
            boolean space = !drop && c != ' ' && isWhitespace(c);
            if ((drop || space) && sb == null) sb = new StringBuilder(s.length()).append(s, 0, i);
            if (sb != null) {
                if (space) sb.append(' ');
                else if (!drop) sb.appendCodePoint(c);
            }
            i += n;
        }
        return sb == null ? s : sb.toString();
    }

    /** BERT's CJK ideograph blocks (not all of CJK: kana and hangul are ordinary letters to BERT). */
    static boolean isChineseChar(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B920 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    static String spaceChineseChars(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            boolean cjk = c >= 0x3400 && isChineseChar(c);
            if (cjk && sb == null) sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (sb != null) {
                if (cjk) sb.append(' ').appendCodePoint(c).append(' ');
                else sb.appendCodePoint(c);
            }
            i += Character.charCount(c);
        }
        return sb == null ? s : sb.toString();
    }

    /** NFD, then without nonspacing marks (Mn): "é" → "e". */
    static String stripAccents(String s) {
        if (isAscii(s)) return s;
        return removeNonspacingMarks(java.text.Normalizer.normalize(s, Form.NFD));
    }

    static String removeNonspacingMarks(String s) {
        if (isAscii(s)) return s;
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (Character.getType(c) != Character.NON_SPACING_MARK) sb.appendCodePoint(c);
            i += Character.charCount(c);
        }
        return sb.toString();
    }

    /** Without combining marks (Mn, Mc, Me), as HF's StripAccents normalizer (BertNormalizer drops only Mn). */
    static String removeCombiningMarks(String s) {
        if (isAscii(s)) return s;
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int t = Character.getType(c);
            if (t != Character.NON_SPACING_MARK && t != Character.COMBINING_SPACING_MARK
                    && t != Character.ENCLOSING_MARK) {
                sb.appendCodePoint(c);
            }
            i += Character.charCount(c);
        }
        return sb.toString();
    }

    /**
     * Lowercases character by character, as Rust's {@code char::to_lowercase}: no context rules, so a final
     * capital sigma becomes σ, not ς as Java's {@code String.toLowerCase} would make it.
     */
    static String lowercase(String s) {
        if (isAscii(s)) return s.toLowerCase(Locale.ROOT);
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            if (c == 0x130) sb.append("i\u0307"); // İ is the one letter whose lowercase is two characters
            else sb.appendCodePoint(Character.toLowerCase(c));
            i += n;
        }
        return sb.toString();
    }

    static String strip(String s, boolean left, boolean right) {
        int from = 0, to = s.length();
        while (left && from < to && isWhitespace(s.codePointAt(from))) from += Character.charCount(s.codePointAt(from));
        while (right && to > from && isWhitespace(s.codePointBefore(to))) to -= Character.charCount(s.codePointBefore(to));
        return s.substring(from, to);
    }

    static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) >= 128) return false;
        return true;
    }
}
