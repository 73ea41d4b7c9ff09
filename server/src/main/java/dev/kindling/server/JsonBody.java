package dev.kindling.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses request bodies and reads their fields, turning every malformed or out-of-range value into a 400 that names
 * the field. A JSON null counts as absent, as in OpenAI's API. Unknown fields are ignored (clients send many).
 */
final class JsonBody {
    /**
     * Jackson rather than core's small JSON reader: hostile bodies need its hard limits (nesting depth, number and
     * string lengths) and its strict UTF-8 decoding, and the responses are written with the same mapper.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64).maxNumberLength(100).maxStringLength(16 << 20).build());
    }

    private JsonBody() {}

    /** The body as a JSON object. */
    static ObjectNode parse(byte[] body) {
        if (body.length == 0) throw ApiError.invalid(null, "the request body is empty; expected a JSON object");
        String text;
        try {
            // strict decoding first: Jackson lets some malformed UTF-8 (overlong forms) through
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw ApiError.invalid(null, "the request body is not valid UTF-8 (" + e.getMessage() + ")");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw ApiError.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.invalid(null, "the request body could not be read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) throw ApiError.invalid(null, "the request body is empty; expected a JSON object");
        if (!(root instanceof ObjectNode o))
            throw ApiError.invalid(null, "the request body must be a JSON object, got " + kind(root));
        return o;
    }

    static JsonNode field(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        return v == null || v.isNull() ? null : v;
    }

    static int integer(ObjectNode o, String name, int dflt, int min, int max) {
        JsonNode v = field(o, name);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble())))
            throw ApiError.invalid(name, "'" + name + "' must be an integer, got " + shown(v));
        if (!v.canConvertToLong() || v.asLong() < min || v.asLong() > max)
            throw ApiError.invalid(name, "'" + name + "' must be in [" + min + ", " + max + "], got " + shown(v));
        return (int) v.asLong();
    }

    static long longValue(ObjectNode o, String name, long dflt) {
        JsonNode v = field(o, name);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToLong())
            throw ApiError.invalid(name, "'" + name + "' must be a 64-bit integer, got " + shown(v));
        return v.asLong();
    }

    static double number(ObjectNode o, String name, double dflt, double min, double max) {
        JsonNode v = field(o, name);
        if (v == null) return dflt;
        if (!v.isNumber()) throw ApiError.invalid(name, "'" + name + "' must be a number, got " + shown(v));
        double d = v.asDouble();
        if (!(d >= min && d <= max)) throw ApiError.invalid(name, "'" + name + "' must be in [" + min + ", " + max + "], got " + shown(v));
        return d;
    }

    static boolean bool(ObjectNode o, String name, boolean dflt) {
        JsonNode v = field(o, name);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw ApiError.invalid(name, "'" + name + "' must be true or false, got " + shown(v));
        return v.booleanValue();
    }

    static String string(ObjectNode o, String name, String dflt) {
        JsonNode v = field(o, name);
        if (v == null) return dflt;
        if (!v.isTextual()) throw ApiError.invalid(name, "'" + name + "' must be a string, got " + shown(v));
        return v.textValue();
    }

    /** A string or a non-empty array of at most maxItems strings (required when {@code required}). */
    static List<String> strings(ObjectNode o, String name, boolean required, int maxItems) {
        JsonNode v = field(o, name);
        if (v == null) {
            if (required) throw ApiError.invalid(name, "'" + name + "' is required");
            return List.of();
        }
        if (v.isTextual()) return List.of(checkText(name, v.textValue()));
        if (!v.isArray()) throw ApiError.invalid(name, "'" + name + "' must be a string or an array of strings, got " + shown(v));
        if (v.isEmpty()) throw ApiError.invalid(name, "'" + name + "' must not be an empty array");
        if (v.size() > maxItems) throw ApiError.invalid(name, "'" + name + "' has " + v.size() + " items; at most " + maxItems + " are allowed");
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            if (!item.isTextual())
                throw ApiError.invalid(name, "'" + name + "[" + i + "]' must be a string, got " + shown(item)
                        + (item.isNumber() || item.isArray() ? " (token-id input is not supported)" : ""));
            out.add(checkText(name + "[" + i + "]", item.textValue()));
        }
        return out;
    }

    /**
     * The text, unless it holds an unpaired UTF-16 surrogate: JSON's \\u escapes can spell one, but it is no
     * character, and tokenizers would quietly turn it into '?'.
     */
    static String checkText(String name, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) i++;
            else if (Character.isSurrogate(c))
                throw ApiError.invalid(name.replaceAll("\\[.*", ""), "'" + name + "' has an unpaired surrogate \\u"
                        + Integer.toHexString(c) + " at character " + i);
        }
        return text;
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The value as it appeared, cut short so a hostile value does not fill the error message. */
    static String shown(JsonNode v) {
        if (v.isContainerNode()) return kind(v);
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("server: cannot write a response as JSON: " + e.getMessage(), e);
        }
    }
}
