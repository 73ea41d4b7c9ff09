package dev.kindling.server;

import static dev.kindling.server.Fixtures.get;
import static dev.kindling.server.Fixtures.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each kind of bad request gets its status and an OpenAI-style error object that names what was wrong. */
class RequestErrorsTest {
    static InferenceServer server;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        server = InferenceServer.start(Fixtures.options().withMaxBodyBytes(4096));
        port = server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Asserts the status and a JSON error whose message contains every fragment; returns the error object. */
    static JsonNode assertError(HttpResponse<String> r, int status, String param, String... fragments) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode e = JsonBody.MAPPER.readTree(r.body()).get("error");
        assertTrue(e != null && e.get("message").isTextual() && e.get("type").isTextual() && e.has("param") && e.has("code"), r.body());
        if (param != null) assertEquals(param, e.get("param").asText(), r.body());
        for (String f : fragments) assertTrue(e.get("message").asText().contains(f), "'" + f + "' in " + r.body());
        return e;
    }

    @Test
    void malformedJsonWrongTypesMissingFieldsAndOutOfRangeValuesAre400() throws Exception {
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\","), 400, null, "not valid JSON");
        assertError(post(port, "/v1/completions", "[1, 2]"), 400, null, "must be a JSON object", "an array");
        assertError(post(port, "/v1/completions", ""), 400, null, "empty");
        assertError(post(port, "/v1/completions", "{}"), 400, "prompt", "'prompt' is required");
        assertError(post(port, "/v1/completions", "{\"prompt\": 5}"), 400, "prompt", "string or an array of strings", "5");
        assertError(post(port, "/v1/completions", "{\"prompt\": [1, 2]}"), 400, "prompt", "token-id input is not supported");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 0}"), 400, "max_tokens", "[1, ", "got 0");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1.5}"), 400, "max_tokens", "integer");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"temperature\": 3}"), 400, "temperature", "[0.0, 2.0]", "got 3");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"temperature\": \"hot\"}"), 400, "temperature", "must be a number");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"top_p\": 0}"), 400, "top_p", "greater than 0");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"n\": 9}"), 400, "n", "[1, 8]");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"stream\": \"yes\"}"), 400, "stream", "true or false");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"\"]}"), 400, "stop", "'stop[0]' must not be empty");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}"), 400, "stop", "at most 4");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"a\", \"seed\": 1e400}"), 400, "seed", "64-bit integer");
        assertError(post(port, "/v1/completions", "{\"prompt\": \"" + "word ".repeat(600) + "\"}"), 400, "prompt", "tokens but the model's context is 512");
        assertError(post(port, "/v1/chat/completions", "{\"messages\": []}"), 400, "messages", "must not be empty");
        assertError(post(port, "/v1/chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}"), 400, "messages",
                "'messages[0].role' must be one of");
        assertError(post(port, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 7}]}"), 400, "messages", "'messages[0].content'");
        assertError(post(port, "/v1/embeddings", "{\"input\": []}"), 400, "input", "must not be an empty array");
        assertError(post(port, "/v1/embeddings", "{\"input\": \"a\", \"encoding_format\": \"hex\"}"), 400, "encoding_format", "\"hex\"");
        assertError(post(port, "/v1/embeddings", "{\"input\": \"a\", \"dimensions\": 8}"), 400, "dimensions", "16 dimensions");
        assertError(post(port, "/v1/embeddings", "{\"input\": [\"ok\", null]}"), 400, "input", "'input[1]' must be a string");
    }

    @Test
    void unknownRoutesModelsAndMethodsAre404And405() throws Exception {
        assertError(get(port, "/v2/anything"), 404, null, "unknown route: GET /v2/anything");
        assertError(post(port, "/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"a\"}"), 404, "model", "'gpt-4' does not exist", "tiny-gpt");
        assertError(get(port, "/v1/models/nope"), 404, "model", "'nope' does not exist");
        assertError(post(port, "/v1/embeddings", "{\"model\": \"tiny-gpt\", \"input\": \"a\"}"), 400, "model", "cannot serve embeddings", "tiny-bert");
        assertError(post(port, "/v1/chat/completions", "{\"model\": \"tiny-bert\", \"messages\": [{\"role\":\"user\",\"content\":\"a\"}]}"), 400,
                "model", "cannot serve chat completions", "tiny-gpt");
        assertError(get(port, "/v1/embeddings"), 405, null, "method GET is not allowed on /v1/embeddings");
    }

    @Test
    void bodiesOverTheLimitAre413AndTheServerKeepsServing() throws Exception {
        String big = "{\"input\": \"" + "a".repeat(5000) + "\"}";
        assertError(post(port, "/v1/embeddings", big), 413, null, "4096 bytes");
        assertEquals(200, post(port, "/v1/embeddings", "{\"input\": \"still here\"}").statusCode());
        String m = get(port, "/metrics").body();
        assertTrue(m.contains("kindling_http_requests_total{route=\"/v1/embeddings\",status=\"413\"} "), m);
    }

    @Test
    void aMissingOrWrongApiKeyIs401() throws Exception {
        try (var keyed = InferenceServer.start(Fixtures.options().withApiKey("s3cret"))) {
            int p = keyed.port();
            assertError(get(p, "/v1/models"), 401, null, "an API key is required");
            assertError(post(p, "/v1/embeddings", "{\"input\":\"a\"}", "Authorization", "Bearer wrong"), 401, null, "the API key is wrong");
            assertEquals(200, post(p, "/v1/embeddings", "{\"input\":\"a\"}", "Authorization", "Bearer s3cret").statusCode());
            assertEquals(200, get(p, "/health").statusCode(), "health needs no key");
        }
    }

    @Test
    void aFullQueueIs429WithRetryAfterAndTheOthersStillFinish() throws Exception {
        try (var small = InferenceServer.start(Fixtures.options().withMaxBatch(1).withMaxQueue(1))) {
            int p = small.port();
            List<HttpResponse<String>> answers = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<HttpResponse<String>>> fs = new ArrayList<>();
                for (int i = 0; i < 8; i++)
                    fs.add(pool.submit(() -> post(p, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":300,\"temperature\":0}")));
                for (var f : fs) answers.add(f.get());
            }
            int ok = 0, limited = 0;
            for (var r : answers) {
                if (r.statusCode() == 200) ok++;
                else {
                    assertError(r, 429, null, "requests waiting (--max-queue)");
                    assertEquals("1", r.headers().firstValue("retry-after").orElse(""));
                    limited++;
                }
            }
            assertTrue(ok >= 1 && limited >= 1, ok + " answered, " + limited + " refused");
        }
    }
}
