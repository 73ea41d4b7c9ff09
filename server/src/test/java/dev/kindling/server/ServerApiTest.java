package dev.kindling.server;

import static dev.kindling.server.Fixtures.get;
import static dev.kindling.server.Fixtures.post;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kindling.inference.Embedder;
import dev.kindling.inference.Sampler;
import dev.kindling.inference.TextGeneration;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.models.AutoModel;
import dev.kindling.models.GptLoader;
import dev.kindling.tensor.DType;
import dev.kindling.tokenizers.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI-compatible routes against the library calls they stand for. */
class ServerApiTest {
    static InferenceServer server;
    static int port;
    static Tokenizer gptTokenizer;

    @BeforeAll
    static void start() throws Exception {
        server = InferenceServer.start(Fixtures.options());
        port = server.port();
        gptTokenizer = Tokenizer.load(Fixtures.GPT.resolve("tokenizer.json"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static JsonNode json(String s) throws Exception {
        return JsonBody.MAPPER.readTree(s);
    }

    /** What the library's greedy decoding makes of a prompt, without the server. */
    static String greedyAlone(String prompt, int maxTokens) throws Exception {
        var gpt = GptLoader.load(Fixtures.GPT);
        int eos = gptTokenizer.eosTokenId().orElse(-1);
        int[] out = TextGeneration.generate(gpt, new int[][] {gptTokenizer.encode(prompt)}, maxTokens, Sampler.greedy(), eos,
                TextGeneration.Overflow.ERROR, null)[0];
        if (out.length > 0 && out[out.length - 1] == eos) out = java.util.Arrays.copyOf(out, out.length - 1);
        return gptTokenizer.decode(out);
    }

    @Test
    void modelsHealthAndPlaygroundAreServed() throws Exception {
        JsonNode models = json(get(port, "/v1/models").body());
        assertEquals("list", models.get("object").asText());
        assertEquals(List.of("tiny-gpt", "tiny-bert"), List.of(models.get("data").get(0).get("id").asText(), models.get("data").get(1).get("id").asText()));
        assertEquals("embeddings", json(get(port, "/v1/models/tiny-bert").body()).get("capability").asText());
        assertEquals("ok", json(get(port, "/health").body()).get("status").asText());
        var page = get(port, "/");
        assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("Kindling playground"));
    }

    @Test
    void embeddingsEqualTheEmbedderAloneAsFloatsAndBase64() throws Exception {
        List<String> texts = List.of("The cat sits on the mat.", "hello world", "a");
        List<float[]> expected;
        try (var auto = AutoModel.fromPretrained(Fixtures.BERT, DType.FLOAT32)) {
            var tok = TextTokenizer.of(Tokenizer.load(Fixtures.BERT.resolve("tokenizer.json")), 64);
            expected = Embedder.builder(auto, tok).normalize(true).build().embed(texts);
        }
        String body = "{\"model\":\"tiny-bert\",\"input\":" + JsonBody.MAPPER.writeValueAsString(texts) + "}";
        JsonNode r = json(post(port, "/v1/embeddings", body).body());
        assertEquals("tiny-bert", r.get("model").asText());
        assertTrue(r.get("usage").get("prompt_tokens").asInt() > texts.size() * 2);
        for (int i = 0; i < texts.size(); i++) {
            JsonNode e = r.get("data").get(i).get("embedding");
            assertEquals(16, e.size());
            for (int d = 0; d < 16; d++) assertEquals(expected.get(i)[d], e.get(d).floatValue(), 1e-5, "text " + i + " dim " + d);
        }
        JsonNode b = json(post(port, "/v1/embeddings", "{\"input\":\"hello world\",\"encoding_format\":\"base64\"}").body());
        ByteBuffer buf = ByteBuffer.wrap(Base64.getDecoder().decode(b.get("data").get(0).get("embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[16];
        for (int d = 0; d < 16; d++) v[d] = buf.getFloat();
        assertArrayEquals(expected.get(1), v, 1e-5f);
    }

    @Test
    void concurrentEmbeddingRequestsAreCoalescedAndEachGetsItsOwnVectors() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 24; i++) texts.add("the cat " + "sits ".repeat(i % 5) + i);
        List<float[]> alone = new ArrayList<>();
        for (String t : texts) {
            JsonNode r = json(post(port, "/v1/embeddings", "{\"input\":\"" + t + "\"}").body());
            float[] v = new float[16];
            for (int d = 0; d < 16; d++) v[d] = r.get("data").get(0).get("embedding").get(d).floatValue();
            alone.add(v);
        }
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> futures = new ArrayList<>();
            for (String t : texts) futures.add(pool.submit(() -> post(port, "/v1/embeddings", "{\"input\":[\"" + t + "\"]}").body()));
            for (int i = 0; i < texts.size(); i++) {
                JsonNode e = json(futures.get(i).get()).get("data").get(0).get("embedding");
                for (int d = 0; d < 16; d++) assertEquals(alone.get(i)[d], e.get(d).floatValue(), 1e-5, "text " + i);
            }
        }
        String metrics = get(port, "/metrics").body();
        assertTrue(metrics.contains("kindling_batch_size_count{kind=\"embeddings\"}"), metrics);
    }

    @Test
    void greedyCompletionEqualsTheLibraryDecodingAlone() throws Exception {
        String prompt = "Once upon a time";
        JsonNode r = json(post(port, "/v1/completions",
                "{\"model\":\"tiny-gpt\",\"prompt\":\"" + prompt + "\",\"max_tokens\":20,\"temperature\":0}").body());
        assertEquals("text_completion", r.get("object").asText());
        String text = r.get("choices").get(0).get("text").asText();
        assertEquals(greedyAlone(prompt, 20), text);
        assertEquals(gptTokenizer.encode(prompt).length, r.get("usage").get("prompt_tokens").asInt());
        String reason = r.get("choices").get(0).get("finish_reason").asText();
        assertTrue(reason.equals("length") && r.get("usage").get("completion_tokens").asInt() == 20 || reason.equals("stop"), r.toString());
    }

    @Test
    void seededSamplingRepeatsAndChoicesDiffer() throws Exception {
        String body = "{\"prompt\":\"The quick brown\",\"max_tokens\":12,\"temperature\":1.0,\"seed\":42,\"n\":2}";
        JsonNode a = json(post(port, "/v1/completions", body).body()), b = json(post(port, "/v1/completions", body).body());
        assertEquals(a.get("choices"), b.get("choices"));
        assertEquals(2, a.get("choices").size());
        assertNotEquals(a.get("choices").get(0).get("text"), a.get("choices").get(1).get("text"));
    }

    @Test
    void streamingSendsTheSameTextAsOneAnswerThenDone() throws Exception {
        String body = "{\"prompt\":\"Once upon\",\"max_tokens\":24,\"temperature\":0.9,\"seed\":7%s}";
        String whole = json(post(port, "/v1/completions", body.formatted("")).body()).get("choices").get(0).get("text").asText();
        var resp = post(port, "/v1/completions", body.formatted(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals("text/event-stream", resp.headers().firstValue("content-type").orElse(""));
        StringBuilder streamed = new StringBuilder();
        List<String> events = resp.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals("[DONE]", events.getLast());
        String finish = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = json(e);
            if (c.has("usage") && !c.get("usage").isNull()) {
                assertEquals(c.get("usage").get("completion_tokens").asInt() + c.get("usage").get("prompt_tokens").asInt(), c.get("usage").get("total_tokens").asInt());
                continue;
            }
            streamed.append(c.get("choices").get(0).get("text").asText());
            if (!c.get("choices").get(0).get("finish_reason").isNull()) finish = c.get("choices").get(0).get("finish_reason").asText();
        }
        assertEquals(whole, streamed.toString());
        assertTrue(finish != null, "a final chunk carries the finish reason");
    }

    @Test
    void stopSequencesCutTheTextBeforeThem() throws Exception {
        String full = greedyAlone("Once upon a time", 30);
        // pick a stop string from the middle of what the model would say
        String stop = full.substring(10, 13);
        int at = full.indexOf(stop);
        JsonNode r = json(post(port, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":30,\"temperature\":0,\"stop\":"
                + JsonBody.MAPPER.writeValueAsString(stop) + "}").body());
        assertEquals(full.substring(0, at), r.get("choices").get(0).get("text").asText());
        assertEquals("stop", r.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void chatUsesThePlainTemplateAndStreamsDeltas() throws Exception {
        String messages = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]}]";
        String prompt = ChatTemplate.PLAIN.render(List.of(new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", "Hello")));
        assertEquals("System: Be brief.\nUser: Hello\nAssistant:", prompt);
        JsonNode r = json(post(port, "/v1/chat/completions", "{\"messages\":" + messages + ",\"max_tokens\":15,\"temperature\":0}").body());
        assertEquals("chat.completion", r.get("object").asText());
        assertEquals("assistant", r.get("choices").get(0).get("message").get("role").asText());
        String expected = greedyAlone(prompt, 15);
        for (String s : ChatTemplate.PLAIN.stops) if (expected.contains(s)) expected = expected.substring(0, expected.indexOf(s));
        assertEquals(expected, r.get("choices").get(0).get("message").get("content").asText());
        assertEquals(gptTokenizer.encode(prompt).length, r.get("usage").get("prompt_tokens").asInt());

        var s = post(port, "/v1/chat/completions", "{\"messages\":" + messages + ",\"max_tokens\":15,\"temperature\":0,\"stream\":true}");
        StringBuilder sb = new StringBuilder();
        List<String> events = s.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals("assistant", json(events.getFirst()).get("choices").get(0).get("delta").get("role").asText());
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode d = json(e).get("choices").get(0).get("delta");
            assertEquals("chat.completion.chunk", json(e).get("object").asText());
            if (d.has("content")) sb.append(d.get("content").asText());
        }
        assertEquals(expected, sb.toString());
    }

    @Test
    void concurrentGreedyStreamsEachEqualTheirDecodingAlone() throws Exception {
        List<String> prompts = List.of("Once", "The quick brown fox", "0123", "served text over", "lazy dog. The");
        List<String> expected = new ArrayList<>();
        for (String p : prompts) expected.add(greedyAlone(p, 60));
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> futures = new ArrayList<>();
            for (String p : prompts)
                futures.add(pool.submit(() -> post(port, "/v1/completions", "{\"prompt\":\"" + p + "\",\"max_tokens\":60,\"temperature\":0,\"stream\":true}").body()));
            for (int i = 0; i < prompts.size(); i++) {
                StringBuilder sb = new StringBuilder();
                for (String line : futures.get(i).get().lines().toList())
                    if (line.startsWith("data: {")) sb.append(json(line.substring(6)).get("choices").get(0).get("text").asText());
                assertEquals(expected.get(i), sb.toString(), "prompt " + i);
            }
        }
    }

    @Test
    void promptsOfOneRequestDecodeInOneBatchAndEachEqualsItsDecodingAlone() throws Exception {
        // the choices of one request are queued together, so they join the batch at the same token boundary
        List<String> prompts = List.of("Once", "The quick brown fox", "0123", "served text over");
        String before = get(port, "/metrics").body();
        JsonNode r = json(post(port, "/v1/completions", "{\"prompt\":" + JsonBody.MAPPER.writeValueAsString(prompts)
                + ",\"max_tokens\":40,\"temperature\":0}").body());
        for (int i = 0; i < prompts.size(); i++)
            assertEquals(greedyAlone(prompts.get(i), 40), r.get("choices").get(i).get("text").asText(), "prompt " + i);
        int promptTokens = 0;
        for (String p : prompts) promptTokens += gptTokenizer.encode(p).length;
        assertEquals(promptTokens, r.get("usage").get("prompt_tokens").asInt());
        String m = get(port, "/metrics").body();
        String sum = "kindling_batch_size_sum{kind=\"generation\"}", count = "kindling_batch_size_count{kind=\"generation\"}";
        double rows = metric(m, sum) - metricOr(before, sum), steps = metric(m, count) - metricOr(before, count);
        assertTrue(rows > steps, "generation steps ran more than one sequence: " + rows + " rows in " + steps + " steps");
        assertTrue(metric(m, "kindling_generated_tokens_total") >= 4);
        assertTrue(m.contains("kindling_http_requests_total{route=\"/v1/completions\",status=\"200\"}"));
        assertTrue(m.contains("kindling_http_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"+Inf\"}"));
        assertTrue(m.contains("kindling_queue_depth{kind=\"generation:tiny-gpt\"} 0"));
        assertTrue(m.contains("kindling_generation_tokens_per_second "));
    }

    static double metricOr(String text, String series) {
        return text.lines().anyMatch(l -> l.startsWith(series + " ")) ? metric(text, series) : 0;
    }

    static double metric(String text, String series) {
        for (String line : text.lines().toList())
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1));
        throw new AssertionError("no series " + series + " in\n" + text);
    }
}
