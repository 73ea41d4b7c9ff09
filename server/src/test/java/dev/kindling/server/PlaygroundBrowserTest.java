package dev.kindling.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The playground at / in headless Chromium: it lists the models, streams a completion into the page and shows the
 * cosine similarity of two texts; both must equal what the API answers directly.
 */
class PlaygroundBrowserTest {
    @Test
    void thePlaygroundStreamsACompletionAndComparesTwoTexts() throws Exception {
        try (var server = InferenceServer.start(Fixtures.options()); var browser = Chromium.open("http://127.0.0.1:" + server.port() + "/")) {
            int port = server.port();
            browser.waitFor("document.body.dataset.ready === 'true'");
            assertEquals("tiny-gpt", browser.eval("document.getElementById('genModel').value").asText());
            assertEquals("tiny-bert", browser.eval("document.getElementById('embModel').value").asText());

            browser.eval("document.getElementById('prompt').value = 'Once upon a time';"
                    + "document.getElementById('maxTokens').value = '16'; document.getElementById('temperature').value = '0';"
                    + "document.getElementById('generate').click(); true");
            browser.waitFor("document.getElementById('genStatus').textContent.startsWith('done')");
            String shown = browser.eval("document.getElementById('output').textContent").asText();
            JsonNode direct = JsonBody.MAPPER.readTree(Fixtures.post(port, "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0}").body());
            assertEquals(direct.get("choices").get(0).get("text").asText(), shown);

            browser.eval("document.getElementById('textA').value = 'the cat sits on the mat';"
                    + "document.getElementById('textB').value = 'a dog is sitting';"
                    + "document.getElementById('compare').click(); true");
            browser.waitFor("document.getElementById('embStatus').textContent.startsWith('done')");
            double similarity = Double.parseDouble(browser.eval("document.getElementById('similarity').textContent").asText());
            JsonNode data = JsonBody.MAPPER.readTree(Fixtures.post(port, "/v1/embeddings",
                    "{\"input\":[\"the cat sits on the mat\",\"a dog is sitting\"]}").body()).get("data");
            double dot = 0;
            for (int d = 0; d < 16; d++) dot += data.get(0).get("embedding").get(d).asDouble() * data.get(1).get("embedding").get(d).asDouble();
            assertEquals(dot, similarity, 1e-4, "unit vectors: the cosine is their dot product");
            Files.write(Path.of("target", "playground.png"), browser.screenshot());
        }
    }
}
