package dev.kindling.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hundreds of malformed and hostile bodies at every route (random bytes, deep nesting, huge numbers, invalid UTF-8,
 * unpaired surrogates, truncated and mistyped requests, oversized bodies), sent concurrently: every answer is a 4xx
 * with a JSON error object, and the server answers real requests afterwards.
 */
class HostileInputTest {
    static final List<String> ROUTES = List.of("/v1/embeddings", "/v1/completions", "/v1/chat/completions", "/v1/models", "/health",
            "/metrics", "/", "/v1/nothing", "/../../etc/passwd");
    static final int PER_ROUTE = 200;
    static final String CONTROL = "\0\1{}[]\":,\\\n\t ";
    static InferenceServer server;

    @BeforeAll
    static void start() throws Exception {
        server = InferenceServer.start(Fixtures.options().withMaxBodyBytes(64 * 1024));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** Bodies that no route may accept: each is invalid by construction. */
    static List<byte[]> hostileBodies(String route, Random r, int count) {
        // a valid body of the route, and the fields the route reads (the first is the text it needs)
        String[] valid = switch (route) {
            case "/v1/embeddings" -> new String[] {"{\"input\":[\"a\",\"b\"]}", "input", "encoding_format", "model", "dimensions"};
            case "/v1/chat/completions" -> new String[] {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}",
                    "messages", "max_tokens", "temperature", "top_p", "n", "stream", "stop", "seed", "model", "stream_options",
                    "max_completion_tokens", "top_k"};
            default -> new String[] {"{\"prompt\":\"Once upon\",\"max_tokens\":3}", "prompt", "max_tokens", "temperature", "top_p",
                    "n", "stream", "stop", "seed", "model", "stream_options", "top_k"};
        };
        String[] fields = java.util.Arrays.copyOfRange(valid, 1, valid.length);
        String[] badValues = {"1e999999", "-1e999999", "9".repeat(2000), "-" + "9".repeat(500), "NaN", "Infinity",
                "[]", "[[[[[]]]]]", "\"\\ud800\"", "\"\\udfff x\"", "1.5e308", "\"" + "\\ud800".repeat(10) + "\"",
                "\"\\uDBFF\"", "0x10", "01", "+1", ".5", "'single'", "undefined"};
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] body = switch (i % 10) {
                case 0 -> { // random bytes
                    byte[] b = new byte[r.nextInt(2000)];
                    r.nextBytes(b);
                    yield b;
                }
                case 1 -> { // deep nesting, as arrays or objects, bare or inside a field
                    int depth = 50 + r.nextInt(20000);
                    String open = r.nextBoolean() ? "[".repeat(depth) : "{\"a\":".repeat(depth);
                    yield utf8(r.nextBoolean() ? open + "1" : "{\"" + fields[r.nextInt(fields.length)] + "\":" + open + "1");
                }
                case 2 -> { // a field with a hostile or out-of-range value, the rest valid
                    String v = valid[0];
                    String f = fields[r.nextInt(fields.length)];
                    yield utf8(v.substring(0, v.length() - 1) + ",\"" + f + "\":" + badValues[r.nextInt(badValues.length)] + "}");
                }
                case 3 -> { // invalid UTF-8 inside a string
                    byte[][] bad = {{(byte) 0xff}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xe2, (byte) 0x82},
                            {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {(byte) 0x80}};
                    String f = fields[0];
                    yield concat(utf8("{\"" + f + "\":\"ab"), bad[r.nextInt(bad.length)], utf8("cd\"}"));
                }
                case 4 -> { // a truncated valid request
                    String v = valid[0];
                    yield utf8(v.substring(0, r.nextInt(v.length() - 1)));
                }
                case 5 -> // unpaired surrogates spelled with escapes
                        utf8("{\"input\":\"x\\ud83d\",\"prompt\":\"\\ude00y\",\"messages\":[{\"role\":\"user\",\"content\":\"\\udc00\"}]}");
                case 6 -> { // the wrong JSON type at the top level
                    String[] tops = {"null", "1", "\"text\"", "[]", "true", "[{\"prompt\":\"a\"}]", "   ", "{} {}", "{\"prompt\":\"a\"} x"};
                    yield utf8(tops[r.nextInt(tops.length)]);
                }
                case 7 -> // larger than --max-body
                        utf8("{\"input\":\"" + "z".repeat(64 * 1024 + r.nextInt(100_000)) + "\"}");
                case 8 -> { // every field of the wrong type at once
                    StringBuilder sb = new StringBuilder("{");
                    for (String f : fields) sb.append('"').append(f).append("\":").append(badValues[r.nextInt(badValues.length)]).append(',');
                    sb.setLength(sb.length() - 1);
                    yield utf8(sb.append('}').toString());
                }
                default -> { // control characters, NULs and stray quotes
                    byte[] b = new byte[1 + r.nextInt(300)];
                    for (int k = 0; k < b.length; k++) b[k] = (byte) CONTROL.charAt(r.nextInt(CONTROL.length()));
                    yield b;
                }
            };
            out.add(body);
        }
        return out;
    }

    @Test
    void everyRouteAnswersHostileBodiesWithA4xxJsonErrorAndKeepsServing() throws Exception {
        int port = server.port();
        Random r = new Random(2024);
        List<String> failures = new ArrayList<>();
        int sent = 0;
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Future<String>> fs = new ArrayList<>();
            for (String route : ROUTES)
                for (byte[] body : hostileBodies(route, r, PER_ROUTE)) {
                    sent++;
                    fs.add(pool.submit(() -> {
                        try {
                            return check(route, body, Fixtures.postBytes(port, route, body));
                        } catch (RuntimeException e) {
                            return route + " <- " + body.length + " bytes: " + e;
                        }
                    }));
                }
            for (var f : fs) {
                String problem = f.get();
                if (problem != null) failures.add(problem);
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + sent + " answers were wrong, first: " + failures.stream().map(f -> f.substring(0, Math.min(f.length(), 200))).toList());
        assertEquals(200, Fixtures.get(port, "/health").statusCode());
        assertEquals(200, Fixtures.post(port, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4}").statusCode());
        assertEquals(200, Fixtures.post(port, "/v1/embeddings", "{\"input\":\"still serving\"}").statusCode());
        String m = Fixtures.get(port, "/metrics").body();
        assertTrue(!m.contains("status=\"500\""), m);
    }

    /** Null when the answer is a 4xx JSON error, else a description. */
    static String check(String route, byte[] body, HttpResponse<String> resp) {
        String shown = route + " <- " + new String(body, 0, Math.min(body.length, 60), StandardCharsets.ISO_8859_1) + ": ";
        int s = resp.statusCode();
        if (s < 400 || s >= 500) return shown + "status " + s + " " + resp.body();
        try {
            JsonNode e = JsonBody.MAPPER.readTree(resp.body()).get("error");
            if (e == null || !e.get("message").isTextual()) return shown + "no error object: " + resp.body();
        } catch (Exception ex) {
            return shown + "not JSON: " + resp.body();
        }
        return null;
    }
}
