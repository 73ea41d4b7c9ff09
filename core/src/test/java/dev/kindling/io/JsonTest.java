package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonTest {
    @Test
    void parsesEveryKindOfValue() {
        Object v = Json.parse(
                " {\"a\": [1, -2, 3.5, -0.25e2, 1E+2, true, false, null, \"s\", {}, []], \"b\": {\"c\": 0}} \n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b"), List.copyOf(m.keySet()));
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(-25.0, a.get(3));
        assertEquals(100.0, a.get(4));
        assertEquals(Boolean.TRUE, a.get(5));
        assertEquals(Boolean.FALSE, a.get(6));
        assertNull(a.get(7));
        assertEquals("s", a.get(8));
        assertEquals(Map.of(), a.get(9));
        assertEquals(List.of(), a.get(10));
        assertEquals(Map.of("c", 0L), m.get("b"));
    }

    @Test
    void keepsKeyOrder() {
        Map<?, ?> m = (Map<?, ?>) Json.parse("{\"z\":1,\"a\":2,\"m\":3}");
        assertEquals(List.of("z", "a", "m"), List.copyOf(m.keySet()));
    }

    @Test
    void integersBeyondLongBecomeDoubles() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"));
    }

    @Test
    void decodesEscapesAndUtf8() {
        assertEquals("\"\\/\b\f\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("é✓", Json.parse("\"\\u00e9\\u2713\""));
        assertEquals("😀", Json.parse("\"\\ud83d\\ude00\"")); // surrogate pair
        assertEquals("café ✓ 😀", Json.parse("\"café ✓ 😀\"")); // raw UTF-8
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"a\":1,}                | expected a string key, found '}' at byte 7",
        "[1,2,]                    | unexpected ']', expected a value at byte 5",
        "[01]                      | leading zeros are not allowed in numbers at byte 2",
        "[1.]                      | expected a digit after '.' at byte 3",
        "[-]                       | expected a digit, found ']' at byte 2",
        "[1e]                      | expected a digit in the exponent at byte 3",
        "\"abc                     | unterminated string at byte 4",
        "{\"a\" 1}                 | expected ':' after key, found '1' at byte 5",
        "{\"a\":1 \"b\":2}         | expected ',' or '}' in object, found '\"' at byte 7",
        "[1 2]                     | expected ',' or ']' in array, found '2' at byte 3",
        "tru                       | invalid literal, expected 'true' at byte 3",
        "{} {}                     | unexpected '{' after the JSON value at byte 3",
        "\"\\x\"                   | invalid escape '\\x' at byte 2",
        "\"\\u12g4\"               | invalid hex digit in \\u escape at byte 5",
        "\"\\ud83d\"               | lone high surrogate \\uD83D at byte 1",
        "\"\\ude00\"               | lone low surrogate \\uDE00 at byte 1",
        "\"\\ud83d\\u0041\"        | \\u0041 is not a low surrogate after \\uD83D at byte 7",
        "{\"w\":1,\"w\":2}         | duplicate key 'w' at byte 7",
        "``                        | unexpected end of input, expected a value at byte 0",
        "'a'                       | unexpected ''', expected a value at byte 0",
    })
    void rejectsMalformedInputWithPosition(String input, String message) {
        var e = assertThrows(Json.JsonException.class, () -> Json.parse(input));
        assertEquals(message, e.getMessage());
    }

    @Test
    void rejectsControlCharactersAndBadUtf8() {
        assertEquals("control character 0x0a in string (must be escaped) at byte 2",
                assertThrows(Json.JsonException.class, () -> Json.parse("\"a\nb\"")).getMessage());
        byte[] overlong = {'"', (byte) 0xC0, (byte) 0xAF, '"'}; // overlong '/'
        assertEquals("invalid UTF-8 lead byte 0xc0 at byte 1",
                assertThrows(Json.JsonException.class, () -> Json.parse(overlong)).getMessage());
        byte[] truncated = {'"', (byte) 0xE2, (byte) 0x9C, '"'};
        assertEquals("truncated or invalid UTF-8 sequence at byte 1",
                assertThrows(Json.JsonException.class, () -> Json.parse(truncated)).getMessage());
        byte[] surrogate = {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}; // U+D800 encoded in UTF-8
        assertTrue(assertThrows(Json.JsonException.class, () -> Json.parse(surrogate)).getMessage()
                .startsWith("invalid UTF-8 sequence (code point U+D800)"));
        byte[] outsideString = {'[', (byte) 0xFF, ']'};
        assertEquals("unexpected byte 0xff, expected a value at byte 1",
                assertThrows(Json.JsonException.class, () -> Json.parse(outsideString)).getMessage());
    }

    @Test
    void guardsNestingDepth() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        var e = assertThrows(Json.JsonException.class, () -> Json.parse(deep));
        assertEquals("nesting deeper than 128 levels at byte 128", e.getMessage());
    }

    @Test
    void positionsAreRelativeToTheParsedRange() {
        byte[] bytes = "xxxx[1,,]".getBytes(StandardCharsets.US_ASCII);
        var e = assertThrows(Json.JsonException.class, () -> Json.parse(bytes, 4, 5));
        assertEquals(3, e.position());
    }

    @Test
    void writesCompactJsonLikeSerde() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"b\\n\nt\tc\u0001é😀/");
        m.put("n", List.of(1L, -2, 2.5, true, false));
        m.put("z", null);
        m.put("shape", new long[] {2, 3});
        String text = Json.write(m);
        assertEquals("{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001é😀/\",\"n\":[1,-2,2.5,true,false],\"z\":null,"
                + "\"shape\":[2,3]}", text);
        Map<?, ?> back = (Map<?, ?>) Json.parse(text);
        assertEquals(m.get("s"), back.get("s"));
        assertEquals(List.of(2L, 3L), back.get("shape"));
    }

    @Test
    void refusesToWriteWhatJsonCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write("\uD800"));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        assertEquals("[1.0E300]", Json.write(List.of(1e300)));
        assertEquals(List.of(1e300), Json.parse("[1.0E300]"));
    }
}
