package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The "decoder" part of a {@code tokenizer.json}: token texts → text. Each step maps a list of token strings. */
final class Decoders {
    private Decoders() {}

    /** One decoding step; the final text is the concatenation of the last step's strings. */
    interface Decoder extends UnaryOperator<List<String>> {}

    static Decoder of(Map<String, Object> json, TokenizerJson.Reader r, String where) throws FileFormatException {
        if (json == null) { // no decoder: HF joins the tokens with spaces
            return tokens -> List.of(String.join(" ", tokens));
        }
        String type = r.string(json, "type", where);
        return switch (type) {
            case "WordPiece" -> {
                String prefix = json.get("prefix") == null ? "##" : r.string(json, "prefix", where);
                boolean cleanup = r.flag(json, "cleanup", where, true);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        String t = tokens.get(i);
                        if (i > 0) t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                        out.add(cleanup ? cleanup(t) : t);
                    }
                    return out;
                };
            }
            case "ByteLevel" -> tokens -> List.of(new String(ByteLevel.fromAlphabet(String.join("", tokens)),
                    StandardCharsets.UTF_8));
            case "Metaspace" -> {
                String replacement = r.string(json, "replacement", where);
                Object scheme = json.get("prepend_scheme");
                boolean strip = scheme == null ? r.flag(json, "add_prefix_space", where, true) : !"never".equals(scheme);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        String t = tokens.get(i).replace(replacement, " ");
                        if (i == 0 && strip && t.startsWith(" ")) t = t.substring(1);
                        out.add(t);
                    }
                    return out;
                };
            }
            case "Fuse" -> tokens -> List.of(String.join("", tokens));
            case "Replace" -> {
                Pattern p = PreTokenizers.pattern(r.object(json, "pattern", where), r, where + ".pattern");
                String content = Matcher.quoteReplacement(r.string(json, "content", where));
                yield tokens -> tokens.stream().map(t -> p.matcher(t).replaceAll(content)).toList();
            }
            case "Strip" -> {
                String content = r.string(json, "content", where);
                int start = r.id(json.getOrDefault("start", 0L), where + ".start");
                int stop = r.id(json.getOrDefault("stop", 0L), where + ".stop");
                yield tokens -> tokens.stream().map(t -> strip(t, content, start, stop)).toList();
            }
            case "ByteFallback" -> Decoders::byteFallback;
            case "BPEDecoder" -> {
                String suffix = json.get("suffix") == null ? "</w>" : r.string(json, "suffix", where);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        out.add(tokens.get(i).replace(suffix, i == tokens.size() - 1 ? "" : " "));
                    }
                    return out;
                };
            }
            case "Sequence" -> {
                List<?> parts = r.list(json, "decoders", where);
                List<Decoder> steps = new ArrayList<>();
                for (int i = 0; i < parts.size(); i++) {
                    String w = where + ".decoders[" + i + "]";
                    steps.add(of(TokenizerJson.asObject(parts.get(i), r, w), r, w));
                }
                yield tokens -> {
                    for (Decoder d : steps) tokens = d.apply(tokens);
                    return tokens;
                };
            }
            default -> throw r.error(where + ": unknown decoder type '" + type + "' (supported: WordPiece, ByteLevel, "
                    + "Metaspace, Fuse, Replace, Strip, ByteFallback, BPEDecoder, Sequence)");
        };
    }

    /** HF's clean_up_tokenization: no space before punctuation and English contractions. */
    static String cleanup(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    private static String strip(String t, String content, int start, int stop) {
        int from = 0, to = t.length();
        for (int i = 0; i < start && t.startsWith(content, from) && from < to; i++) from += content.length();
        for (int i = 0; i < stop && to - content.length() >= from && t.startsWith(content, to - content.length()); i++) {
            to -= content.length();
        }
        return t.substring(from, to);
    }

    /** Runs of {@code <0xXX>} tokens become the text of their bytes (invalid UTF-8 → U+FFFD). */
    private static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String t : tokens) {
            if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                try {
                    bytes.write(Integer.parseInt(t.substring(3, 5), 16));
                    continue;
                } catch (NumberFormatException e) {
                    // not a byte token after all: falls through as text
                }
            }
            if (bytes.size() > 0) {
                out.add(bytes.toString(StandardCharsets.UTF_8));
                bytes.reset();
            }
            out.add(t);
        }
        if (bytes.size() > 0) out.add(bytes.toString(StandardCharsets.UTF_8));
        return out;
    }
}
