package dev.kindling.io;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) parser and writer, so that core needs no JSON library.
 *
 * <p>Values map to Java as: object → {@link LinkedHashMap} (keys in document order), array → {@link ArrayList},
 * string → {@link String}, integer without fraction or exponent that fits → {@link Long}, any other number →
 * {@link Double}, {@code true}/{@code false} → {@link Boolean}, {@code null} → {@code null}.
 *
 * <p>Strict means: UTF-8 input is validated, control characters inside strings, lone surrogates, leading zeros,
 * trailing commas, duplicate object keys and trailing non-whitespace are all errors. Errors are
 * {@link JsonException}s carrying the byte position. Nesting is limited to {@link #MAX_DEPTH} so that a hostile
 * document cannot overflow the stack.
 */
public final class Json {
    static final int MAX_DEPTH = 128;

    /** A syntax error at a byte position of the input. */
    public static final class JsonException extends IllegalArgumentException {
        private final long position;

        JsonException(String message, long position) {
            super(message + " at byte " + position);
            this.position = position;
        }

        /** Byte offset (0-based) of the error within the parsed input. */
        public long position() {
            return position;
        }
    }

    private final byte[] in;
    private final int end;
    private int pos;
    private final int base;
    private int depth;

    private Json(byte[] in, int off, int len) {
        this.in = in;
        this.pos = off;
        this.base = off;
        this.end = off + len;
    }

    /** Parses {@code len} bytes of UTF-8 JSON starting at {@code off}; positions in errors are relative to off. */
    public static Object parse(byte[] utf8, int off, int len) {
        Json p = new Json(utf8, off, len);
        p.skipWhitespace();
        Object v = p.value();
        p.skipWhitespace();
        if (p.pos != p.end) throw p.error("unexpected " + p.describe() + " after the JSON value");
        return v;
    }

    public static Object parse(byte[] utf8) {
        return parse(utf8, 0, utf8.length);
    }

    public static Object parse(String text) {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    private JsonException error(String message) {
        return new JsonException(message, pos - base);
    }

    private String describe() {
        if (pos >= end) return "end of input";
        int b = in[pos] & 0xFF;
        if (b >= 0x21 && b < 0x7F) return "'" + (char) b + "'";
        return String.format("byte 0x%02x", b);
    }

    private void skipWhitespace() {
        while (pos < end) {
            byte b = in[pos];
            if (b == ' ' || b == '\n' || b == '\r' || b == '\t') pos++;
            else break;
        }
    }

    private Object value() {
        if (pos >= end) throw error("unexpected end of input, expected a value");
        return switch (in[pos]) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                byte b = in[pos];
                if (b == '-' || (b >= '0' && b <= '9')) yield number();
                throw error("unexpected " + describe() + ", expected a value");
            }
        };
    }

    private Object literal(String word, Object result) {
        for (int i = 0; i < word.length(); i++) {
            if (pos + i >= end || in[pos + i] != word.charAt(i)) {
                pos += i;
                throw error("invalid literal, expected '" + word + "'");
            }
        }
        pos += word.length();
        return result;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
    }

    private Map<String, Object> object() {
        enter();
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (pos < end && in[pos] == '}') {
            pos++;
            depth--;
            return map;
        }
        while (true) {
            skipWhitespace();
            if (pos >= end || in[pos] != '"') throw error("expected a string key, found " + describe());
            int keyPos = pos;
            String key = string();
            skipWhitespace();
            if (pos >= end || in[pos] != ':') throw error("expected ':' after key, found " + describe());
            pos++;
            skipWhitespace();
            Object v = value();
            if (map.containsKey(key)) throw new JsonException("duplicate key '" + key + "'", keyPos - base);
            map.put(key, v);
            skipWhitespace();
            if (pos < end && in[pos] == ',') {
                pos++;
            } else if (pos < end && in[pos] == '}') {
                pos++;
                depth--;
                return map;
            } else {
                throw error("expected ',' or '}' in object, found " + describe());
            }
        }
    }

    private List<Object> array() {
        enter();
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (pos < end && in[pos] == ']') {
            pos++;
            depth--;
            return list;
        }
        while (true) {
            skipWhitespace();
            list.add(value());
            skipWhitespace();
            if (pos < end && in[pos] == ',') {
                pos++;
            } else if (pos < end && in[pos] == ']') {
                pos++;
                depth--;
                return list;
            } else {
                throw error("expected ',' or ']' in array, found " + describe());
            }
        }
    }

    private Object number() {
        int start = pos;
        boolean integral = true;
        if (in[pos] == '-') pos++;
        if (pos >= end) throw error("expected a digit after '-'");
        if (in[pos] == '0') {
            pos++;
            if (pos < end && isDigit(in[pos])) throw error("leading zeros are not allowed in numbers");
        } else if (isDigit(in[pos])) {
            while (pos < end && isDigit(in[pos])) pos++;
        } else {
            throw error("expected a digit, found " + describe());
        }
        if (pos < end && in[pos] == '.') {
            integral = false;
            pos++;
            if (pos >= end || !isDigit(in[pos])) throw error("expected a digit after '.'");
            while (pos < end && isDigit(in[pos])) pos++;
        }
        if (pos < end && (in[pos] == 'e' || in[pos] == 'E')) {
            integral = false;
            pos++;
            if (pos < end && (in[pos] == '+' || in[pos] == '-')) pos++;
            if (pos >= end || !isDigit(in[pos])) throw error("expected a digit in the exponent");
            while (pos < end && isDigit(in[pos])) pos++;
        }
        String text = new String(in, start, pos - start, StandardCharsets.US_ASCII);
        if (integral) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException tooLarge) {
                // Beyond 64 bits: keep the magnitude as a double; callers that need integers reject it.
            }
        }
        return Double.parseDouble(text);
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= end) throw error("unterminated string");
            int b = in[pos] & 0xFF;
            if (b == '"') {
                pos++;
                return sb.toString();
            } else if (b == '\\') {
                escape(sb);
            } else if (b < 0x20) {
                throw error(String.format("control character 0x%02x in string (must be escaped)", b));
            } else if (b < 0x80) {
                sb.append((char) b);
                pos++;
            } else {
                sb.appendCodePoint(utf8Sequence(b));
            }
        }
    }

    private void escape(StringBuilder sb) {
        pos++; // backslash
        if (pos >= end) throw error("unterminated escape");
        byte c = in[pos];
        switch (c) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
                int escapePos = pos - 1;
                pos++;
                char ch = hex4();
                if (Character.isHighSurrogate(ch)) {
                    if (pos + 1 < end && in[pos] == '\\' && in[pos + 1] == 'u') {
                        int lowPos = pos;
                        pos += 2;
                        char low = hex4();
                        if (!Character.isLowSurrogate(low)) {
                            throw new JsonException(String.format("\\u%04X is not a low surrogate after \\u%04X",
                                    (int) low, (int) ch), lowPos - base);
                        }
                        sb.append(ch).append(low);
                    } else {
                        throw new JsonException(String.format("lone high surrogate \\u%04X", (int) ch),
                                escapePos - base);
                    }
                } else if (Character.isLowSurrogate(ch)) {
                    throw new JsonException(String.format("lone low surrogate \\u%04X", (int) ch), escapePos - base);
                } else {
                    sb.append(ch);
                }
                return; // hex4 already advanced pos
            }
            default -> throw error("invalid escape '\\" + (c >= 0x21 && c < 0x7F ? String.valueOf((char) c)
                    : String.format("0x%02x", c & 0xFF)) + "'");
        }
        pos++;
    }

    private char hex4() {
        if (pos + 4 > end) throw error("truncated \\u escape");
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(in[pos] & 0xFF, 16);
            if (d < 0 || in[pos] < 0) throw error("invalid hex digit in \\u escape");
            v = v * 16 + d;
            pos++;
        }
        return (char) v;
    }

    /** Decodes one multi-byte UTF-8 sequence whose lead byte is {@code b0}; rejects overlong forms and surrogates. */
    private int utf8Sequence(int b0) {
        int need;
        int cp;
        int min;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 1;
            cp = b0 & 0x1F;
            min = 0x80;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            cp = b0 & 0x0F;
            min = 0x800;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            cp = b0 & 0x07;
            min = 0x10000;
        } else {
            throw error(String.format("invalid UTF-8 lead byte 0x%02x", b0));
        }
        int start = pos;
        pos++;
        for (int i = 0; i < need; i++) {
            if (pos >= end || (in[pos] & 0xC0) != 0x80) {
                pos = start;
                throw error("truncated or invalid UTF-8 sequence");
            }
            cp = (cp << 6) | (in[pos] & 0x3F);
            pos++;
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            pos = start;
            throw error(String.format("invalid UTF-8 sequence (code point U+%04X)", cp));
        }
        return cp;
    }

    // ---------------------------------------------------------------- writing

    /**
     * Compact JSON text for {@code value}: maps (keys in iteration order), lists, strings, booleans, null, integral
     * numbers ({@link Long}, {@link Integer}, ...) and finite {@link Double}/{@link Float}. Escapes like serde_json
     * (quote, backslash, control characters) and leaves other characters as UTF-8, so the output matches what the
     * Rust safetensors crate writes.
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("json: nesting deeper than " + MAX_DEPTH);
        switch (value) {
            case null -> sb.append("null");
            case String s -> writeString(sb, s);
            case Boolean b -> sb.append(b);
            case Long l -> sb.append(l);
            case Integer i -> sb.append(i);
            case Short s -> sb.append(s);
            case Byte b -> sb.append(b);
            case Double d -> writeDouble(sb, d);
            case Float f -> writeDouble(sb, f.doubleValue());
            case long[] arr -> {
                sb.append('[');
                for (int i = 0; i < arr.length; i++) {
                    if (i > 0) sb.append(',');
                    sb.append(arr[i]);
                }
                sb.append(']');
            }
            case Map<?, ?> map -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException("json: object key " + e.getKey() + " is not a string");
                    }
                    if (!first) sb.append(',');
                    first = false;
                    writeString(sb, key);
                    sb.append(':');
                    write(sb, e.getValue(), depth + 1);
                }
                sb.append('}');
            }
            case List<?> list -> {
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) sb.append(',');
                    write(sb, list.get(i), depth + 1);
                }
                sb.append(']');
            }
            default -> throw new IllegalArgumentException(
                    "json: cannot write a " + value.getClass().getName());
        }
    }

    private static void writeDouble(StringBuilder sb, double d) {
        if (!Double.isFinite(d)) throw new IllegalArgumentException("json: cannot write non-finite number " + d);
        sb.append(d);
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isSurrogate(c)) {
                        // A lone surrogate cannot be encoded as UTF-8; a valid pair passes through unchanged.
                        boolean pair = Character.isHighSurrogate(c) && i + 1 < s.length()
                                && Character.isLowSurrogate(s.charAt(i + 1));
                        if (!pair) {
                            throw new IllegalArgumentException(String.format(
                                    "json: string has a lone surrogate U+%04X at index %d", (int) c, i));
                        }
                        sb.append(c).append(s.charAt(++i));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
