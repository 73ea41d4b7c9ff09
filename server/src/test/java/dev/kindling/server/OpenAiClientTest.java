package dev.kindling.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LangChain4j's OpenAI client, unchanged, against the server: embeddings and streaming chat, with an API key. */
class OpenAiClientTest {
    static final String KEY = "test-key-123";
    static InferenceServer server;
    static String baseUrl;

    @BeforeAll
    static void start() throws Exception {
        server = InferenceServer.start(Fixtures.options().withApiKey(KEY));
        baseUrl = "http://127.0.0.1:" + server.port() + "/v1";
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void embeddingsThroughTheClientEqualTheServersOwnAnswer() throws Exception {
        var model = OpenAiEmbeddingModel.builder().baseUrl(baseUrl).apiKey(KEY).modelName("tiny-bert").timeout(Duration.ofSeconds(60)).build();
        List<Embedding> got = model.embedAll(List.of(TextSegment.from("The cat sits on the mat."), TextSegment.from("hello world"))).content();
        assertEquals(2, got.size());
        var direct = JsonBody.MAPPER.readTree(Fixtures.post(server.port(), "/v1/embeddings", "{\"input\":\"hello world\"}",
                "Authorization", "Bearer " + KEY).body()).get("data").get(0).get("embedding");
        float[] v = got.get(1).vector();
        assertEquals(16, v.length);
        for (int d = 0; d < 16; d++) assertEquals(direct.get(d).floatValue(), v[d], 1e-6);
    }

    @Test
    void streamingChatThroughTheClientDeliversTheSameTextAsOneAnswer() throws Exception {
        var streaming = OpenAiStreamingChatModel.builder().baseUrl(baseUrl).apiKey(KEY).modelName("tiny-gpt").temperature(0.0).maxTokens(20)
                .timeout(Duration.ofSeconds(60)).build();
        StringBuilder partial = new StringBuilder();
        var done = new CompletableFuture<ChatResponse>();
        streaming.chat("Hello there", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String token) {
                partial.append(token);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        assertEquals(partial.toString(), response.aiMessage().text());
        var blocking = OpenAiChatModel.builder().baseUrl(baseUrl).apiKey(KEY).modelName("tiny-gpt").temperature(0.0).maxTokens(20)
                .timeout(Duration.ofSeconds(60)).build();
        assertEquals(blocking.chat("Hello there"), partial.toString());
        assertTrue(response.tokenUsage() == null || response.tokenUsage().inputTokenCount() > 0);
    }

    @Test
    void theClientSurfacesTheServersErrors() {
        var wrongKey = OpenAiEmbeddingModel.builder().baseUrl(baseUrl).apiKey("nope").modelName("tiny-bert").maxRetries(0).build();
        var e = assertThrows(RuntimeException.class, () -> wrongKey.embed("hi"));
        assertTrue(e.getMessage().contains("the API key is wrong"), e.toString());
        var unknown = OpenAiEmbeddingModel.builder().baseUrl(baseUrl).apiKey(KEY).modelName("text-embedding-3-small").maxRetries(0).build();
        var u = assertThrows(RuntimeException.class, () -> unknown.embed("hi"));
        assertTrue(u.getMessage().contains("does not exist"), u.toString());
    }
}
