package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "pre_tokenizer" part of a {@code tokenizer.json}: splits normalized text into the words that the model
 * tokenizes one by one. Built from JSON by {@link #of}.
 */
final class PreTokenizers {
    private PreTokenizers() {}

    /** Splits one piece of text into words, appended to {@code out}. */
    interface PreTokenizer {
        void split(String text, List<String> out);

        /**
         * Splits {@code text}, which starts the input when {@code atStart} (Metaspace's prepend_scheme "first"
         * marks only that piece's first word).
         */
        default void split(String text, boolean atStart, List<String> out) {
            split(text, out);
        }
    }

    /** The regex of a {@code {"String": ...}} (a literal) or {@code {"Regex": ...}} pattern object. */
    static Pattern pattern(Map<String, Object> json, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        if (json.get("String") instanceof String s) return Pattern.compile(Pattern.quote(s));
        if (json.get("Regex") instanceof String s) {
            try {
                return Pattern.compile(s, Pattern.UNICODE_CHARACTER_CLASS);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw r.error(where + ": regex " + ByteLevelBpeTokenizer.quote(s) + " does not compile: "
                        + e.getDescription());
            }
        }
        throw r.error(where + " is " + dev.kindling.io.Json.write(json) + ", expected {\"String\": ...} or "
                + "{\"Regex\": ...}");
    }

    static PreTokenizer of(Map<String, Object> json, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        if (json == null) return (text, out) -> out.add(text);
        String type = r.string(json, "type", where);
        return switch (type) {
            case "BertPreTokenizer" -> PreTokenizers::bert;
            case "WhitespaceSplit" -> PreTokenizers::whitespaceSplit;
            case "Whitespace" -> { // keeps the matches, drops what lies between them
                Pattern p = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);
                yield (text, out) -> splitRegex(text, p, Behavior.REMOVED, true, out);
            }
            case "Punctuation" -> {
                Behavior b = behavior(json.getOrDefault("behavior", "Isolated"), r, where);
                yield (text, out) -> split(text, PreTokenizers::isPunctuation, out, b);
            }
            case "Digits" -> {
                boolean single = r.flag(json, "individual_digits", where, false);
                Behavior b = single ? Behavior.ISOLATED : Behavior.CONTIGUOUS;
                yield (text, out) -> split(text, PreTokenizers::isNumeric, out, b);
            }
            case "ByteLevel" -> {
                boolean prefix = r.flag(json, "add_prefix_space", where, true);
                boolean regex = r.flag(json, "use_regex", where, true);
                yield (text, out) -> byteLevel(text, prefix, regex, out);
            }
            case "Split" -> {
                Pattern p = pattern(r.object(json, "pattern", where), r, where + ".pattern");
                Behavior b = behavior(json.get("behavior"), r, where);
                boolean invert = r.flag(json, "invert", where, false);
                yield (text, out) -> splitRegex(text, p, b, invert, out);
            }
            case "Metaspace" -> {
                String replacement = r.string(json, "replacement", where);
                if (replacement.codePointCount(0, replacement.length()) != 1) {
                    throw r.error(where + ".replacement " + ByteLevelBpeTokenizer.quote(replacement)
                            + " must be one character");
                }
                String scheme = metaspaceScheme(json, r, where);
                boolean split = r.flag(json, "split", where, true);
                yield new PreTokenizer() {
                    @Override
                    public void split(String text, List<String> out) {
                        split(text, true, out);
                    }

                    @Override
                    public void split(String text, boolean atStart, List<String> out) {
                        boolean prepend = scheme.equals("always") || scheme.equals("first") && atStart;
                        metaspace(text, replacement, prepend, split, out);
                    }
                };
            }
            case "Sequence" -> {
                List<?> parts = r.list(json, "pretokenizers", where);
                List<PreTokenizer> steps = new ArrayList<>();
                for (int i = 0; i < parts.size(); i++) {
                    String w = where + ".pretokenizers[" + i + "]";
                    steps.add(of(TokenizerJson.asObject(parts.get(i), r, w), r, w));
                }
                yield new PreTokenizer() {
                    @Override
                    public void split(String text, List<String> out) {
                        split(text, true, out);
                    }

                    @Override
                    public void split(String text, boolean atStart, List<String> out) {
                        List<String> pieces = List.of(text);
                        for (PreTokenizer step : steps) {
                            List<String> next = new ArrayList<>();
                            for (int k = 0; k < pieces.size(); k++) step.split(pieces.get(k), atStart && k == 0, next);
                            pieces = next;
                        }
                        out.addAll(pieces);
                    }
                };
            }
            default -> throw r.error(where + ": unknown pre-tokenizer type '" + type + "' (supported: "
                    + "BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits, ByteLevel, Split, "
                    + "Metaspace, Sequence)");
        };
    }

    /** What a split does with the matched delimiters (HF's SplitDelimiterBehavior). */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    private static Behavior behavior(Object v, TokenizerJson.Reader r, String where) throws FileFormatException {
        if (v instanceof String s) {
            switch (s) {
                case "Removed": return Behavior.REMOVED;
                case "Isolated": return Behavior.ISOLATED;
                case "MergedWithPrevious": return Behavior.MERGED_WITH_PREVIOUS;
                case "MergedWithNext": return Behavior.MERGED_WITH_NEXT;
                case "Contiguous": return Behavior.CONTIGUOUS;
                default: break;
            }
        }
        throw r.error(where + ".behavior is " + dev.kindling.io.Json.write(v) + ", expected one of Removed, "
                + "Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
    }

    private static String metaspaceScheme(Map<String, Object> json, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        Object scheme = json.get("prepend_scheme");
        if (scheme == null) return r.flag(json, "add_prefix_space", where, true) ? "always" : "never";
        if (scheme instanceof String s && (s.equals("always") || s.equals("never") || s.equals("first"))) return s;
        throw r.error(where + ".prepend_scheme is " + dev.kindling.io.Json.write(scheme)
                + ", expected \"always\", \"first\" or \"never\"");
    }

    // ------------------------------------------------------------------------------------------------ splitting

    /** BERT: split on whitespace (dropped), then every punctuation character is a word of its own. */
    static void bert(String text, List<String> out) {
        int n = text.length();
        int start = -1;
        for (int i = 0; i < n; ) {
            int c = text.codePointAt(i);
            int w = Character.charCount(c);
            if (Normalizers.isWhitespace(c)) {
                if (start >= 0) out.add(text.substring(start, i));
                start = -1;
            } else if (isPunctuation(c)) {
                if (start >= 0) out.add(text.substring(start, i));
                out.add(text.substring(i, i + w));
                start = -1;
            } else if (start < 0) {
                start = i;
            }
            i += w;
        }
        if (start >= 0) out.add(text.substring(start));
    }

    static void whitespaceSplit(String text, List<String> out) {
        split(text, Normalizers::isWhitespace, out, Behavior.REMOVED);
    }

    /** HF's punctuation: ASCII punctuation (which includes $+<=>^`|~) or a Unicode P* category. */
    static boolean isPunctuation(int c) {
        if (c < 128) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** Splits where single characters satisfy {@code isDelimiter}. */
    static void split(String text, java.util.function.IntPredicate isDelimiter, List<String> out, Behavior b) {
        List<int[]> pieces = new ArrayList<>(); // {start, end, 1 if a delimiter}
        int last = 0;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            int w = Character.charCount(c);
            if (isDelimiter.test(c)) {
                if (i > last) pieces.add(new int[] {last, i, 0});
                pieces.add(new int[] {i, i + w, 1});
                last = i + w;
            }
            i += w;
        }
        if (last < text.length()) pieces.add(new int[] {last, text.length(), 0});
        apply(text, pieces, b, out);
    }

    /** Splits at the regex's matches; with {@code invert} the matches are the words and the rest delimiters. */
    static void splitRegex(String text, Pattern p, Behavior b, boolean invert, List<String> out) {
        List<int[]> pieces = new ArrayList<>();
        int delim = invert ? 0 : 1;
        Matcher m = p.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) pieces.add(new int[] {last, m.start(), 1 - delim});
            pieces.add(new int[] {m.start(), m.end(), delim});
            last = m.end();
        }
        if (last < text.length()) pieces.add(new int[] {last, text.length(), 1 - delim});
        apply(text, pieces, b, out);
    }

    /** Rust's {@code char::is_numeric}: the N* categories (Nd, Nl, No), not only decimal digits. */
    static boolean isNumeric(int c) {
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** Emits {@code pieces} ({start, end, isDelimiter}, in order, covering the text) as behavior {@code b} says. */
    private static void apply(String text, List<int[]> pieces, Behavior b, List<String> out) {
        if (b == Behavior.CONTIGUOUS) { // runs of delimiters become one delimiter
            List<int[]> merged = new ArrayList<>();
            for (int[] p : pieces) {
                if (p[2] == 1 && !merged.isEmpty() && merged.getLast()[2] == 1) merged.getLast()[1] = p[1];
                else merged.add(p.clone());
            }
            pieces = merged;
        }
        int pending = -1; // MergedWithNext: start of a delimiter waiting for the next piece
        for (int k = 0; k < pieces.size(); k++) {
            int[] p = pieces.get(k);
            boolean delim = p[2] == 1;
            switch (b) {
                case REMOVED -> { if (!delim) out.add(text.substring(p[0], p[1])); }
                case ISOLATED, CONTIGUOUS -> out.add(text.substring(p[0], p[1]));
                case MERGED_WITH_PREVIOUS -> {
                    if (delim && k > 0 && pieces.get(k - 1)[2] == 0) {
                        out.set(out.size() - 1, text.substring(pieces.get(k - 1)[0], p[1]));
                    } else {
                        out.add(text.substring(p[0], p[1]));
                    }
                }
                case MERGED_WITH_NEXT -> {
                    if (delim) {
                        if (pending >= 0) out.add(text.substring(pending, p[0]));
                        pending = p[0];
                    } else {
                        out.add(text.substring(pending >= 0 ? pending : p[0], p[1]));
                        pending = -1;
                    }
                }
            }
        }
        if (pending >= 0) out.add(text.substring(pending));
    }

    /**
     * GPT-2's byte-level step: optionally a leading space, GPT-2's regex split (shared with
     * {@link ByteLevelBpeTokenizer}), and each word's UTF-8 bytes as alphabet characters.
     */
    static void byteLevel(String text, boolean addPrefixSpace, boolean useRegex, List<String> out) {
        if (text.isEmpty()) return;
        if (addPrefixSpace && text.charAt(0) != ' ') text = " " + text;
        if (!useRegex) {
            out.add(ByteLevel.toAlphabet(text.getBytes(StandardCharsets.UTF_8)));
            return;
        }
        for (int start = 0; start < text.length(); ) {
            int end = ByteLevel.wordEnd(text, start, text.length());
            out.add(ByteLevel.toAlphabet(text.substring(start, end).getBytes(StandardCharsets.UTF_8)));
            start = end;
        }
    }

    /** SentencePiece style: spaces become the replacement, which also starts the text and each word. */
    static void metaspace(String text, String replacement, boolean prepend, boolean split, List<String> out) {
        if (text.isEmpty()) return;
        String s = text.replace(" ", replacement);
        if (prepend && !s.startsWith(replacement)) s = replacement + s;
        if (!split) {
            out.add(s);
            return;
        }
        int start = 0;
        for (int i = s.indexOf(replacement, 1); i >= 0; i = s.indexOf(replacement, i + 1)) {
            if (i > start) out.add(s.substring(start, i));
            start = i;
        }
        if (start < s.length()) out.add(s.substring(start));
    }
}
